import { DomainEvent } from '../../shared/domain/decider';
import type { SealedPayer } from '../../shared/crypto/payer';

/**
 * Order types and line kinds are open for extension: a new one is a new union member here and
 * a new case where the compiler's exhaustiveness checks point (pricing, reservation, refund).
 */
export type OrderType = 'NORMAL';
export type LineKind = 'PRODUCT';

export interface OrderLine {
  readonly kind: LineKind;
  readonly productId: string;
  readonly name: string;
  /** Price snapshot taken when the order was placed: payment charges this, not today's price. */
  readonly unitPrice: number;
  readonly quantity: number;
  readonly amount: number;
}

export interface AppliedCoupon {
  readonly userCouponId: string;
  readonly couponId: string;
  readonly discount: number;
}

/** Payer data as stored: only ever ciphertext (sealed by src/shared/crypto/payer.ts). */
export type { SealedPayer };

export type OrderPlaced = DomainEvent<
  'OrderPlaced',
  {
    orderId: string;
    userId: string;
    orderType: OrderType;
    lines: readonly OrderLine[];
    coupon: AppliedCoupon | null;
    subtotal: number;
    discount: number;
    total: number;
    occurredAt: string;
  }
>;
export type OrderPaid = DomainEvent<
  'OrderPaid',
  { orderId: string; userId: string; total: number; payer: SealedPayer | null; occurredAt: string }
>;
/** A payment refused for a business reason: the order stays payable, nothing else changed. */
export type PaymentFailed = DomainEvent<'PaymentFailed', { orderId: string; userId: string; reason: string; occurredAt: string }>;
export type OrderCancelled = DomainEvent<
  'OrderCancelled',
  { orderId: string; userId: string; refunded: boolean; occurredAt: string }
>;

export type OrderEvent = OrderPlaced | OrderPaid | PaymentFailed | OrderCancelled;
