import { Command } from '../../shared/domain/decider';
import { AppliedCoupon, OrderLine, OrderType, SealedPayer } from './events';
import type { OrderStatus } from './decider';

/**
 * Lines arrive priced: the caller read the products in the same unit of work. `expiresAt` is
 * `now` plus ORDER_PAYMENT_TTL_MINUTES: after it the order can no longer be paid at these prices.
 */
export type PlaceOrder = Command<
  'PlaceOrder',
  { orderId: string; userId: string; orderType: OrderType; lines: readonly OrderLine[]; coupon: AppliedCoupon | null; now: string; expiresAt: string }
>;
export type MarkPaid = Command<'MarkPaid', { orderId: string; userId: string; payer: SealedPayer | null; now: string }>;
export type RecordPaymentFailure = Command<'RecordPaymentFailure', { orderId: string; userId: string; reason: string; now: string }>;
/**
 * `seenStatus` is the status the request saw when it arrived: a cancellation applies to that
 * order, so one that raced a payment and lost is refused instead of silently becoming a refund.
 */
export type CancelOrder = Command<'CancelOrder', { orderId: string; userId: string; seenStatus?: OrderStatus; now: string }>;

export type OrderCommand = PlaceOrder | MarkPaid | RecordPaymentFailure | CancelOrder;
