import { LRUCache } from 'lru-cache';
import { Principal } from '../../shared/auth/tokens';
import { GroupCommit } from '../../shared/command/group-commit';
import { CommandHandler, Handled } from '../../shared/command/handler';
import { DomainError } from '../../shared/domain/errors';
import { EventStore } from '../../shared/eventstore/port';
import { Admission, CouponGate } from './gate/port';
import { CouponCommand } from './commands';
import { couponDecider, CouponDefinition, couponErrors, CouponState, couponStream, requireIssuable, userCouponIdOf } from './decider';
import { CouponEvent, CouponIssued } from './events';

export interface IssueOutcome extends Handled<CouponEvent, CouponState> {
  readonly issued: CouponIssued['data'];
}

/**
 * The hot path of a coupon rush. A request outside the issue window is refused from the
 * coupon's definition (immutable once created, so cached); the gate turns away the sold-out
 * and the duplicates; the few it admits are decided together per coupon by the group commit,
 * where the decider and the expected revision have the last word. The store's answer then goes
 * back to the gate, so a place it refused is given back. Whenever the gate fails, requests go
 * straight to the store: slower, never wrong.
 */
export class CouponIssuer {
  private readonly definitions = new LRUCache<string, CouponDefinition>({ max: 10_000 });
  private readonly seeding = new Map<string, Promise<void>>();
  private readonly group: GroupCommit<CouponCommand, CouponEvent, CouponState>;

  constructor(
    private readonly commands: CommandHandler,
    private readonly gate: CouponGate,
    events: EventStore,
    maxAttempts: number,
  ) {
    this.group = new GroupCommit(couponDecider, { load: (stream) => commands.load(couponDecider, stream), store: events, maxAttempts });
  }

  async issue(couponId: string, user: Principal, now: string): Promise<IssueOutcome> {
    const coupon = await this.definition(couponId);
    requireIssuable(coupon, now);
    const admission = await this.admit(coupon, user.userId);
    if (admission === 'already_issued') throw couponErrors.alreadyIssued(couponId);
    if (admission === 'sold_out') throw couponErrors.soldOut(couponId);
    const gated = admission === 'admitted';
    let handled: Handled<CouponEvent, CouponState>;
    try {
      handled = await this.group.submit(
        couponId,
        { type: 'IssueCoupon', data: { couponId, userId: user.userId, now } },
        // One issue per user coupon ever: ids from it make a repeated write impossible, Idempotency-Key or not.
        { idSeed: `coupon-issue\u0000${userCouponIdOf(couponId, user.userId)}`, metadata: { actorId: user.userId, role: user.role } },
      );
    } catch (error) {
      if (gated) await this.quietly(this.afterRefusal(couponId, user.userId, error));
      throw error;
    }
    if (gated) await this.quietly(this.gate.confirm(couponId, user.userId));
    const [issued] = handled.events as [CouponIssued];
    return { ...handled, issued: issued.data };
  }

  private async definition(couponId: string): Promise<CouponDefinition> {
    const known = this.definitions.get(couponId);
    if (known) return known;
    const { state } = await this.commands.load(couponDecider, couponStream(couponId));
    if (state.coupon === null) throw couponErrors.notFound(couponId);
    this.definitions.set(couponId, state.coupon);
    return state.coupon;
  }

  /** 'ungated' when the gate cannot answer: the store alone decides. */
  private async admit(coupon: CouponDefinition, userId: string): Promise<Admission | 'ungated'> {
    try {
      let admission = await this.gate.admit(coupon.couponId, userId);
      if (admission === 'unknown') {
        await this.seed(coupon);
        admission = await this.gate.admit(coupon.couponId, userId);
      }
      // Still unknown: lost again while seeding. Not worth a loop; the store is right there.
      return admission === 'unknown' ? 'ungated' : admission;
    } catch {
      return 'ungated';
    }
  }

  /** One read of the log per coupon and instance, however many requests found the gate empty. */
  private seed(coupon: CouponDefinition): Promise<void> {
    let running = this.seeding.get(coupon.couponId);
    if (!running) {
      running = (async () => {
        const { state } = await this.commands.load(couponDecider, couponStream(coupon.couponId));
        const holders = (function* () {
          for (const [userId] of state.holders.entries()) yield userId;
        })();
        await this.gate.seed(coupon.couponId, { totalQuantity: coupon.totalQuantity, holders });
      })().finally(() => this.seeding.delete(coupon.couponId));
      this.seeding.set(coupon.couponId, running);
    }
    return running;
  }

  /** What the store's refusal teaches the gate about the place it held for this user. */
  private afterRefusal(couponId: string, userId: string, error: unknown): Promise<void> {
    const code = error instanceof DomainError ? error.code : undefined;
    if (code === 'COUPON_SOLD_OUT') return this.gate.markSoldOut(couponId, userId);
    if (code === 'COUPON_ALREADY_ISSUED') return this.gate.confirm(couponId, userId);
    return this.gate.release(couponId, userId);
  }

  /** A gate that cannot be told only costs speed: the lease frees the place, a seed corrects the rest. */
  private async quietly(step: Promise<void>): Promise<void> {
    await step.catch(() => undefined);
  }
}
