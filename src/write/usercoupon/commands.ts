import { Command } from '../../shared/domain/decider';
import type { CouponState } from '../coupon/decider';

/**
 * Both carry the campaign as the caller read it in the same unit of work, without locking it or
 * writing to it: its terms never change and an issue is for good, so a campaign read a moment
 * late can only lack issues, and a decision on it can only refuse what a newer one would accept.
 */
interface ReadCampaign {
  readonly campaign: CouponState;
}

/** Issued by payment, in the same append as the order: spends the user coupon on one order. */
export type UseCoupon = Command<'UseCoupon', ReadCampaign & { userCouponId: string; userId: string; orderId: string; subtotal: number; now: string }>;
/** Issued by cancellation: frees the user coupon the order spent, at most once. */
export type RestoreCoupon = Command<'RestoreCoupon', ReadCampaign & { userCouponId: string; orderId: string; now: string }>;

export type UserCouponCommand = UseCoupon | RestoreCoupon;
