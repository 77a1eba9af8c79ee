import { Command } from '../../shared/domain/decider';
import { AppliedCoupon, OrderLine, OrderType, SealedPayer } from './events';

/** Lines arrive priced: the caller read the products in the same unit of work. */
export type PlaceOrder = Command<
  'PlaceOrder',
  { orderId: string; userId: string; orderType: OrderType; lines: readonly OrderLine[]; coupon: AppliedCoupon | null; now: string }
>;
export type MarkPaid = Command<'MarkPaid', { orderId: string; userId: string; payer: SealedPayer | null; now: string }>;
export type RecordPaymentFailure = Command<'RecordPaymentFailure', { orderId: string; userId: string; reason: string; now: string }>;
export type CancelOrder = Command<'CancelOrder', { orderId: string; userId: string; now: string }>;

export type OrderCommand = PlaceOrder | MarkPaid | RecordPaymentFailure | CancelOrder;
