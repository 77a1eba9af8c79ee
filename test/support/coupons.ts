import { CouponTerms } from '../../src/write/coupon/commands';
import { CouponEvent } from '../../src/write/coupon/events';
import { UserCouponEvent } from '../../src/write/usercoupon/events';

/** Events of campaign `c1` and its user coupons, as the deciders write them, for unit specs. */
export const couponId = 'c1';
export const createdAt = '2026-11-01T00:00:00.000Z';
export const now = '2026-11-25T00:00:00.000Z';

export const couponTerms = (overrides: Partial<CouponTerms> = {}): CouponTerms => ({
  name: 'Welcome',
  discount: { type: 'FIXED', amount: 1000 },
  minOrderAmount: 10_000,
  totalQuantity: 2,
  issueStartsAt: null,
  issueEndsAt: null,
  validUntil: null,
  validDays: null,
  ...overrides,
});

export const couponCreated = (overrides: Partial<CouponTerms> = {}): CouponEvent => ({
  type: 'CouponCreated',
  data: { couponId, ...couponTerms(overrides), occurredAt: createdAt },
});
export const couponIssued = (userId: string, issuedQuantity: number, validUntil: string | null = null, at = now): CouponEvent => ({
  type: 'CouponIssued',
  data: { couponId, userCouponId: `${couponId}:${userId}`, userId, validUntil, issuedQuantity, occurredAt: at },
});
/** The same event in a user coupon's stream and, in logs from before those streams, in its campaign's. */
export const couponUsed = (userId: string, orderId = 'o1', at = now): UserCouponEvent & CouponEvent => ({
  type: 'CouponUsed',
  data: { couponId, userCouponId: `${couponId}:${userId}`, userId, orderId, occurredAt: at },
});
export const couponRestored = (userId: string, orderId = 'o1'): UserCouponEvent & CouponEvent => ({
  type: 'CouponRestored',
  data: { couponId, userCouponId: `${couponId}:${userId}`, userId, orderId, occurredAt: now },
});
