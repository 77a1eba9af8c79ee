import { z } from 'zod';
import { ORDER_LINES, ORDERS, OrderDoc, OrderLineDoc } from '../../../projections/orders';
import { orderSchema, orderStatusSchema, payerSchema, presentOrder } from '../../write/order/view';
import type { AppServices } from '../../composition/services';
import { DomainError } from '../../shared/domain/errors';
import { Range, Scalar } from '../../shared/documents/port';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, listQuerySchema, pageSchema } from '../../shared/http/schemas';

const isoDate = z.iso.datetime({ offset: true }).max(64);

export const ordersQueryRoutes = ({ documents, payers, clock }: AppServices) => [
  defineRoute({
    method: 'get',
    path: '/admin/orders',
    operationId: 'listAllOrders',
    summary: "Every user's orders, newest first (without the payer, which only its owner sees)",
    tags: ['Orders', 'Admin'],
    access: 'admin',
    readsFrom: [ORDERS],
    query: listQuerySchema,
    response: { status: 200, description: 'One page of orders', schema: pageSchema(orderSchema.extend({ userId: z.string().openapi({ example: EXAMPLE.userId }) })) },
    async handle({ query }) {
      const page = await documents.find<OrderDoc>(ORDERS, { sort: { field: 'createdAt', direction: 'desc' }, limit: query.limit, cursor: query.cursor });
      return { status: 200, body: { items: page.items.map((doc) => ({ ...presentOrder(doc, clock.now()), userId: doc.userId })), nextCursor: page.nextCursor } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/me/orders',
    operationId: 'listMyOrders',
    summary: 'My orders, newest first, filterable by status (an unpaid order past its expiresAt is EXPIRED), product and date range',
    tags: ['Orders'],
    access: 'user',
    readsFrom: [ORDERS],
    query: listQuerySchema.extend({
      status: orderStatusSchema.optional().openapi({ param: { example: 'PAID' } }),
      productId: z.string().min(1).max(64).optional().openapi({ param: { example: EXAMPLE.productId } }),
      from: isoDate.optional().openapi({ param: { example: '2026-12-01T00:00:00+09:00' } }),
      to: isoDate.optional().openapi({ param: { example: '2027-01-01T00:00:00+09:00' } }),
    }),
    response: { status: 200, description: 'One page of orders', schema: pageSchema(orderSchema) },
    async handle({ user, query }) {
      const now = clock.now();
      const where: Record<string, Scalar | Range> = { userId: user.userId };
      // PENDING and EXPIRED are both stored PENDING; the page is filtered after reading, so it may hold fewer than `limit`.
      if (query.status) where.status = query.status === 'EXPIRED' ? 'PENDING' : query.status;
      const shown = (order: ReturnType<typeof presentOrder>) => !query.status || order.status === query.status;
      if (query.from || query.to) {
        where.createdAt = {
          ...(query.from ? { gte: new Date(query.from).toISOString() } : {}),
          ...(query.to ? { lt: new Date(query.to).toISOString() } : {}),
        };
      }
      const find = { where, sort: { field: 'createdAt', direction: 'desc' as const }, limit: query.limit, cursor: query.cursor };
      if (!query.productId) {
        const page = await documents.find<OrderDoc>(ORDERS, find);
        return { status: 200, body: { items: page.items.map((doc) => presentOrder(doc, now)).filter(shown), nextCursor: page.nextCursor } };
      }
      const lines = await documents.find<OrderLineDoc>(ORDER_LINES, { ...find, where: { ...where, productId: query.productId } });
      const orders = new Map((await documents.getMany<OrderDoc>(ORDERS, lines.items.map((line) => line.orderId))).map((o) => [o.id, o]));
      const items = lines.items.flatMap((line) => (orders.has(line.orderId) ? [presentOrder(orders.get(line.orderId)!, now)] : [])).filter(shown);
      return { status: 200, body: { items, nextCursor: lines.nextCursor } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/me/orders/{orderId}',
    operationId: 'getMyOrder',
    summary: 'One of my orders with items, amounts, status history and (for me only) the payer',
    tags: ['Orders'],
    access: 'user',
    readsFrom: [ORDERS],
    params: z.strictObject({ orderId: z.string().min(1).max(64).openapi({ param: { example: EXAMPLE.orderId } }) }),
    response: { status: 200, description: 'The order', schema: orderSchema.extend({ payer: payerSchema.nullable().optional() }) },
    errors: { 404: ['ORDER_NOT_FOUND'] },
    async handle({ user, params }) {
      const doc = await documents.get<OrderDoc>(ORDERS, params.orderId);
      // Another user's order is indistinguishable from a missing one.
      if (!doc || doc.userId !== user.userId) throw new DomainError('ORDER_NOT_FOUND', 'not_found', 'no such order');
      const payer = doc.payer ? await payers.open(doc.userId, doc.payer) : null;
      return { status: 200, body: presentOrder(doc, clock.now(), () => payer) };
    },
  }),
];
