import { Command } from '../../shared/domain/decider';
import { DiscountPolicy } from './discount';

/**
 * What an admin decides when creating a coupon. Absent options are null, not missing, so the
 * event data has one shape. Validity is `validUntil` (a fixed instant), `validDays` (counted
 * from each issue), or neither: the coupon then never expires.
 */
export interface CouponTerms {
  readonly name: string;
  readonly discount: DiscountPolicy;
  readonly minOrderAmount: number;
  readonly totalQuantity: number;
  readonly issueStartsAt: string | null;
  readonly issueEndsAt: string | null;
  readonly validUntil: string | null;
  readonly validDays: number | null;
}

export type CreateCoupon = Command<'CreateCoupon', CouponTerms & { couponId: string; now: string }>;
/** First come, first served: one per user while any are left and the issue window is open. */
export type IssueCoupon = Command<'IssueCoupon', { couponId: string; userId: string; now: string }>;
/** Using and restoring a user coupon are the user coupon's own (src/write/usercoupon). */
export type CouponCommand = CreateCoupon | IssueCoupon;
