import { DomainEvent } from '../../shared/domain/decider';
import type { CouponRestored, CouponUsed } from '../usercoupon/events';
import { CouponTerms } from './commands';

export type CouponCreated = DomainEvent<'CouponCreated', CouponTerms & { couponId: string; occurredAt: string }>;
/** Carries the count after it, so views copy it and a replay cannot count twice. */
export type CouponIssued = DomainEvent<
  'CouponIssued',
  { couponId: string; userCouponId: string; userId: string; validUntil: string | null; issuedQuantity: number; occurredAt: string }
>;

/**
 * CouponUsed and CouponRestored are written to the user coupon's own stream; a campaign stream
 * holds them only from before those streams existed, and its decider still folds them.
 */
export type CouponEvent = CouponCreated | CouponIssued | CouponUsed | CouponRestored;
