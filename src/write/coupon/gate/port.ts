/**
 * The coupon gate: answers, without touching the event store, the issue requests that are
 * sure to be refused (none left, or the user already holds one), so a rush of thousands on one
 * coupon sends only about as many requests to the store as there are coupons.
 *
 * An optimisation only (docs/ARCHITECTURE.md, principle 1): the decider and the expected revision
 * decide every issue. The gate may be lost (Redis flushed or restarted, a new process) and is
 * then seeded again from the coupon's stream; it may be unreachable, and callers then go
 * straight to the store. Its errors therefore lean one way: after a loss it can let a few too
 * many through (whom the store refuses), but it counts every place it hands out until the
 * store's answer confirms or frees it, so it never turns away someone the store would accept
 * for longer than one admission lease.
 */
export type Admission =
  /** A place is held for the user until `confirm`, `release`, `markSoldOut` or the lease ends. */
  | 'admitted'
  | 'already_issued'
  | 'sold_out'
  /** The gate has no record of the coupon: seed it from the log and ask again. */
  | 'unknown';

export interface GateSnapshot {
  readonly totalQuantity: number;
  /** Users the log says hold the coupon. */
  readonly holders: Iterable<string>;
}

export interface CouponGate {
  readonly adapterName: string;
  admit(couponId: string, userId: string): Promise<Admission>;
  /** Records the coupon as the log has it, unless the gate already has a record (which counts places the log may not show yet). */
  seed(couponId: string, snapshot: GateSnapshot): Promise<void>;
  /** The user holds the coupon (issued now, or the store found them already holding it): the place stays taken. */
  confirm(couponId: string, userId: string): Promise<void>;
  /** The store refused the user for another reason: the place is free again. */
  release(couponId: string, userId: string): Promise<void>;
  /** The store found none left, which is final (issued coupons are never taken back): refuse everyone from now on. */
  markSoldOut(couponId: string, userId: string): Promise<void>;
  close(): Promise<void>;
}

/** How long an admitted request may take to be confirmed or released before its place is counted free again. */
export const DEFAULT_ADMISSION_LEASE_MS = 30_000;

export interface GateOptions {
  readonly leaseMs?: number;
  /** Milliseconds; injectable so lease expiry can be tested without waiting. */
  readonly now?: () => number;
}
