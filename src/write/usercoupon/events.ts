import { DomainEvent } from '../../shared/domain/decider';

/**
 * Each states the whole use of the user coupon (spent on `orderId`, or free again), so the use
 * is always the last of them. Logs written before user coupons had streams of their own hold
 * them in the campaign stream `coupon-<couponId>` as well (see ./decider.ts).
 */
export type CouponUsed = DomainEvent<'CouponUsed', { couponId: string; userCouponId: string; userId: string; orderId: string; occurredAt: string }>;
export type CouponRestored = DomainEvent<
  'CouponRestored',
  { couponId: string; userCouponId: string; userId: string; orderId: string; occurredAt: string }
>;

export type UserCouponEvent = CouponUsed | CouponRestored;
