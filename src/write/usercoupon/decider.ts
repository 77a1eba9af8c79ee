import { Decider, unreachable } from '../../shared/domain/decider';
import { DomainError } from '../../shared/domain/errors';
import { CouponDefinition, CouponState, isValidAt, issuedIn, UserCoupon } from '../coupon/decider';
import { discountFor } from '../coupon/discount';
import { RestoreCoupon, UseCoupon, UserCouponCommand } from './commands';
import { UserCouponEvent } from './events';

export interface CouponUse {
  /** The order that spent it, or null while it is free to use. */
  readonly usedBy: string | null;
  readonly usedAt: string | null;
}

/**
 * One user coupon's use, in a stream of its own (`usercoupon-<userCouponId>`), so that using
 * coupons of one campaign does not queue on the campaign's stream: "used by one order at a
 * time" and "restored at most once" are guarded by this stream's expected revision.
 */
export interface UserCouponState {
  /** Where this stream's events leave the use; null before its first event. */
  readonly use: CouponUse | null;
}

export const userCouponStream = (userCouponId: string) => `usercoupon-${userCouponId}`;

/**
 * The user coupon as its campaign issued it, with its use. Logs written before user coupons had
 * streams of their own hold uses in the campaign stream, which its decider folds into the
 * holder; every event of this stream came after those (operators stop the old version before
 * starting this one: docs/OPERATIONS.md), and each states the whole use, so folding both in log
 * order leaves this stream's last use, or the campaign's while this stream has none.
 */
export function heldCoupon(campaign: CouponState, userCouponId: string, own: UserCouponState): UserCoupon | undefined {
  const issued = issuedIn(campaign, userCouponId);
  return issued && own.use ? { ...issued, ...own.use } : issued;
}

export interface ApplicableCoupon {
  readonly coupon: CouponDefinition;
  readonly userCoupon: UserCoupon;
  /** What the coupon takes off this subtotal. */
  readonly discount: number;
}

/**
 * For orders: may `userId` spend this user coupon on an order of `subtotal` at `now`? Throws
 * COUPON_NOT_APPLICABLE (with a `reason`) when it is not theirs, already used, expired, or the
 * subtotal is below the minimum; otherwise says what it takes off.
 */
export function checkCouponApplicable(
  campaign: CouponState,
  own: UserCouponState,
  userCouponId: string,
  userId: string,
  subtotal: number,
  now: string,
): ApplicableCoupon {
  const refuse = (reason: 'NOT_OWNED' | 'USED' | 'EXPIRED' | 'BELOW_MINIMUM', message: string, extra: Record<string, unknown> = {}) =>
    new DomainError('COUPON_NOT_APPLICABLE', 'conflict', message, { userCouponId, reason, ...extra });
  const held = heldCoupon(campaign, userCouponId, own);
  if (campaign.coupon === null || held === undefined || held.userId !== userId) throw refuse('NOT_OWNED', 'you hold no such coupon');
  if (held.usedBy !== null) throw refuse('USED', 'the coupon has already been used');
  if (!isValidAt(held.validUntil, now)) throw refuse('EXPIRED', 'the coupon has expired', { validUntil: held.validUntil });
  if (subtotal < campaign.coupon.minOrderAmount) {
    throw refuse('BELOW_MINIMUM', `the coupon needs an order of at least ${campaign.coupon.minOrderAmount}`, {
      minOrderAmount: campaign.coupon.minOrderAmount,
    });
  }
  return { coupon: campaign.coupon, userCoupon: held, discount: discountFor(campaign.coupon.discount, subtotal) };
}

function use({ data }: UseCoupon, state: UserCouponState): UserCouponEvent[] {
  const held = heldCoupon(data.campaign, data.userCouponId, state);
  if (held?.userId === data.userId && held.usedBy === data.orderId) return [];
  const { userCoupon } = checkCouponApplicable(data.campaign, state, data.userCouponId, data.userId, data.subtotal, data.now);
  const { couponId, userCouponId, userId } = userCoupon;
  return [{ type: 'CouponUsed', data: { couponId, userCouponId, userId, orderId: data.orderId, occurredAt: data.now } }];
}

function restore({ data }: RestoreCoupon, state: UserCouponState): UserCouponEvent[] {
  const held = heldCoupon(data.campaign, data.userCouponId, state);
  if (held === undefined || held.usedBy !== data.orderId) return [];
  const { couponId, userCouponId, userId } = held;
  return [{ type: 'CouponRestored', data: { couponId, userCouponId, userId, orderId: data.orderId, occurredAt: data.now } }];
}

export const userCouponDecider: Decider<UserCouponCommand, UserCouponEvent, UserCouponState> = {
  category: 'usercoupon',
  initialState: { use: null },
  decide(command, state) {
    switch (command.type) {
      case 'UseCoupon':
        return use(command, state);
      case 'RestoreCoupon':
        return restore(command, state);
      default:
        return unreachable(command);
    }
  },
  evolve(_state, event) {
    switch (event.type) {
      case 'CouponUsed':
        return { use: { usedBy: event.data.orderId, usedAt: event.data.occurredAt } };
      case 'CouponRestored':
        return { use: { usedBy: null, usedAt: null } };
      default:
        return unreachable(event);
    }
  },
};
