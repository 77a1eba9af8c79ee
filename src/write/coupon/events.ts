import { DomainEvent } from '../../shared/domain/decider';
import { CouponTerms } from './commands';

export type CouponCreated = DomainEvent<'CouponCreated', CouponTerms & { couponId: string; occurredAt: string }>;
/** Carries the count after it, so views copy it and a replay cannot count twice. */
export type CouponIssued = DomainEvent<
  'CouponIssued',
  { couponId: string; userCouponId: string; userId: string; validUntil: string | null; issuedQuantity: number; occurredAt: string }
>;
export type CouponUsed = DomainEvent<'CouponUsed', { couponId: string; userCouponId: string; userId: string; orderId: string; occurredAt: string }>;
export type CouponRestored = DomainEvent<
  'CouponRestored',
  { couponId: string; userCouponId: string; userId: string; orderId: string; occurredAt: string }
>;

export type CouponEvent = CouponCreated | CouponIssued | CouponUsed | CouponRestored;
