import { z } from 'zod';
import type { SealedPayer } from '../../shared/crypto/payer';
import { PlacedOrder } from './decider';

export const orderStatusSchema = z.enum(['PENDING', 'PAID', 'CANCELLED']);

export const orderItemSchema = z.object({
  productId: z.string(),
  name: z.string(),
  unitPrice: z.number().int(),
  quantity: z.number().int(),
  amount: z.number().int(),
});

export const payerSchema = z.object({ name: z.string(), phone: z.string(), email: z.string() });

/** The order as every endpoint shows it, read or write. */
export const orderSchema = z.object({
  orderId: z.string(),
  orderType: z.string(),
  status: orderStatusSchema,
  items: z.array(orderItemSchema),
  userCouponId: z.string().nullable(),
  subtotal: z.number().int(),
  discount: z.number().int(),
  total: z.number().int(),
  createdAt: z.string(),
  paidAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  statusHistory: z.array(z.object({ status: z.string(), at: z.string(), reason: z.string().optional() })),
  position: z.string().nullable(),
});

/** The public shape of an order; payer data only ever opened for its owner. */
export function presentOrder(doc: PlacedOrder & { readonly position: string | null }, openPayer?: (sealed: SealedPayer) => unknown) {
  return {
    orderId: doc.orderId,
    orderType: doc.orderType,
    status: doc.status,
    items: doc.lines.map(({ productId, name, unitPrice, quantity, amount }) => ({ productId, name, unitPrice, quantity, amount })),
    userCouponId: doc.coupon?.userCouponId ?? null,
    subtotal: doc.subtotal,
    discount: doc.discount,
    total: doc.total,
    createdAt: doc.placedAt,
    paidAt: doc.paidAt,
    cancelledAt: doc.cancelledAt,
    statusHistory: doc.history,
    position: doc.position,
    ...(openPayer && doc.payer ? { payer: openPayer(doc.payer) } : {}),
  };
}
