import { LRUCache } from 'lru-cache';
import { Admission, CouponGate, DEFAULT_ADMISSION_LEASE_MS, GateOptions, GateSnapshot } from './port';

interface GateRecord {
  readonly totalQuantity: number;
  readonly holders: Set<string>;
  /** User -> lease end, in the order admitted: with one lease length, that is also the order they expire. */
  readonly pending: Map<string, number>;
  soldOut: boolean;
}

/**
 * The gate inside one process, for the embedded mode. Several instances each keep their own,
 * so together they may let through up to one quantity each; the store refuses the surplus and
 * each gate learns from that answer. A coupon pushed out of the bounded cache is seeded again
 * from the log on its next request.
 */
export class InProcessCouponGate implements CouponGate {
  readonly adapterName = 'in-process';
  private readonly coupons: LRUCache<string, GateRecord>;
  private readonly leaseMs: number;
  private readonly now: () => number;

  constructor(options: GateOptions & { readonly maxCoupons?: number } = {}) {
    this.coupons = new LRUCache({ max: options.maxCoupons ?? 1_000 });
    this.leaseMs = options.leaseMs ?? DEFAULT_ADMISSION_LEASE_MS;
    this.now = options.now ?? Date.now;
  }

  async admit(couponId: string, userId: string): Promise<Admission> {
    const record = this.coupons.get(couponId);
    if (!record) return 'unknown';
    const now = this.now();
    for (const [user, until] of record.pending) {
      if (until > now) break;
      record.pending.delete(user);
    }
    if (record.holders.has(userId) || record.pending.has(userId)) return 'already_issued';
    if (record.soldOut || record.holders.size + record.pending.size >= record.totalQuantity) return 'sold_out';
    record.pending.set(userId, now + this.leaseMs);
    return 'admitted';
  }

  async seed(couponId: string, snapshot: GateSnapshot): Promise<void> {
    if (this.coupons.has(couponId)) return;
    this.coupons.set(couponId, { totalQuantity: snapshot.totalQuantity, holders: new Set(snapshot.holders), pending: new Map(), soldOut: false });
  }

  async confirm(couponId: string, userId: string): Promise<void> {
    const record = this.coupons.get(couponId);
    record?.pending.delete(userId);
    record?.holders.add(userId);
  }

  async release(couponId: string, userId: string): Promise<void> {
    this.coupons.get(couponId)?.pending.delete(userId);
  }

  async markSoldOut(couponId: string, userId: string): Promise<void> {
    const record = this.coupons.get(couponId);
    if (!record) return;
    record.pending.delete(userId);
    record.soldOut = true;
  }

  async close(): Promise<void> {}
}
