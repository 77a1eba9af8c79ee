import { z } from 'zod';
import type { SealedPayer } from '../../shared/crypto/payer';
import { EXAMPLE, instantOutSchema } from '../../shared/http/schemas';
import { isExpired, PlacedOrder } from './decider';

/** EXPIRED is not stored: it is a PENDING order read after its expiresAt (see isExpired). */
export const orderStatusSchema = z.enum(['PENDING', 'EXPIRED', 'PAID', 'CANCELLED']).openapi({ example: 'PAID' });

export const orderItemSchema = z.object({
  productId: z.string().openapi({ example: EXAMPLE.productId }),
  name: z.string().openapi({ example: 'Mechanical keyboard' }),
  unitPrice: z.number().int().openapi({ example: 89_000 }),
  quantity: z.number().int().openapi({ example: 2 }),
  amount: z.number().int().openapi({ example: 178_000 }),
});

/** Who pays, as the buyer gave it (request) and as only they read it back (response). */
export const PAYER_EXAMPLE = { name: 'Alice Kim', phone: '+82 10-1234-5678', email: 'alice@example.com' } as const;

export const payerSchema = z.object({ name: z.string(), phone: z.string(), email: z.string() }).openapi({ example: PAYER_EXAMPLE });

/** The order as every endpoint shows it, read or write. */
export const orderSchema = z.object({
  orderId: z.string().openapi({ example: EXAMPLE.orderId }),
  orderType: z.string().openapi({ example: 'NORMAL' }),
  status: orderStatusSchema,
  items: z.array(orderItemSchema),
  userCouponId: z.string().nullable().openapi({ example: `${EXAMPLE.couponId}:${EXAMPLE.userId}` }),
  subtotal: z.number().int().openapi({ example: 178_000 }),
  discount: z.number().int().openapi({ example: 17_800 }),
  total: z.number().int().openapi({ example: 160_200 }),
  createdAt: instantOutSchema,
  expiresAt: instantOutSchema.openapi({ description: 'The last moment it may be paid', example: '2026-12-03T18:42:40.512Z' }),
  paidAt: instantOutSchema.nullable().openapi({ example: '2026-12-03T18:14:31.870Z' }),
  cancelledAt: instantOutSchema.nullable().openapi({ example: null }),
  statusHistory: z
    .array(
      z.object({
        status: z.string(),
        at: z.string(),
        reason: z.string().optional().openapi({ description: 'Why a payment was refused, as its error code' }),
      }),
    )
    .openapi({
      example: [
        { status: 'PENDING', at: EXAMPLE.instant },
        { status: 'PAYMENT_FAILED', at: '2026-12-03T18:13:05.204Z', reason: 'POINTS_INSUFFICIENT' },
        { status: 'PAID', at: '2026-12-03T18:14:31.870Z' },
      ],
    }),
  position: z.string().nullable().openapi({ example: EXAMPLE.position }),
});

/** The public shape of an order as of `now`; payer data only ever opened for its owner. */
export function presentOrder(doc: PlacedOrder & { readonly position: string | null }, now: Date, openPayer?: (sealed: SealedPayer) => unknown) {
  return {
    orderId: doc.orderId,
    orderType: doc.orderType,
    status: isExpired(doc, now) ? ('EXPIRED' as const) : doc.status,
    items: doc.lines.map(({ productId, name, unitPrice, quantity, amount }) => ({ productId, name, unitPrice, quantity, amount })),
    userCouponId: doc.coupon?.userCouponId ?? null,
    subtotal: doc.subtotal,
    discount: doc.discount,
    total: doc.total,
    createdAt: doc.placedAt,
    expiresAt: doc.expiresAt,
    paidAt: doc.paidAt,
    cancelledAt: doc.cancelledAt,
    statusHistory: doc.history,
    position: doc.position,
    ...(openPayer && doc.payer ? { payer: openPayer(doc.payer) } : {}),
  };
}
