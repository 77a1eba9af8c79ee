import { z } from 'zod';
import { DATA_PLATFORM_DELIVERIES, DELIVERY_STATUSES, DeliveryDoc } from '../../projections/data-platform-outbox';
import type { AppServices } from '../composition/services';
import { Deliveries } from './deliveries';
import { defineRoute } from '../shared/http/route';
import { EXAMPLE, instantOutSchema, listQuerySchema, pageSchema } from '../shared/http/schemas';

const statusSchema = z.enum(DELIVERY_STATUSES);

const DELIVERY_ID_EXAMPLE = '3c8e1a7d-0b4f-4e26-9d51-7a2c6b8f0e13';

const deliverySchema = z
  .object({
    id: z.string().openapi({ description: 'The event id, sent to the data platform as Idempotency-Key', example: DELIVERY_ID_EXAMPLE }),
    orderId: z.string().openapi({ example: EXAMPLE.orderId }),
    eventType: z.enum(['OrderPaid', 'OrderCancelled']),
    status: statusSchema,
    attempts: z.number().int().openapi({ description: 'Requests made so far (reset by a retry)', example: 1 }),
    lastError: z.string().nullable().openapi({ example: null }),
    deliveredAt: instantOutSchema.nullable(),
    occurredAt: instantOutSchema.openapi({ description: 'When the order event happened' }),
    updatedAt: instantOutSchema,
  })
  .openapi('DataPlatformDelivery');

const view = ({ id, orderId, eventType, status, attempts, lastError, deliveredAt, occurredAt, updatedAt }: DeliveryDoc) => ({
  id,
  orderId,
  eventType,
  status,
  attempts,
  lastError,
  deliveredAt,
  occurredAt,
  updatedAt,
});

export const dataPlatformAdminRoutes = ({ documents, clock, config, deliveryQueue, logger }: AppServices) => {
  const deliveries = new Deliveries(documents, clock, config.DATA_PLATFORM_MAX_ATTEMPTS);
  return [
    defineRoute({
      method: 'get',
      path: '/admin/data-platform/deliveries',
      operationId: 'listDeliveries',
      summary: 'Outbox deliveries of paid and cancelled orders to the data platform, newest first',
      tags: ['Admin'],
      access: 'admin',
      readsFrom: [DATA_PLATFORM_DELIVERIES],
      query: listQuerySchema.extend({ status: statusSchema.optional().openapi({ param: { example: 'DEAD' } }) }),
      response: { status: 200, description: 'One page of deliveries', schema: pageSchema(deliverySchema) },
      async handle({ query }) {
        const page = await deliveries.list(query.status, query.limit, query.cursor);
        return { status: 200, body: { items: page.items.map(view), nextCursor: page.nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/admin/data-platform/delivery-counts',
      operationId: 'countDeliveries',
      summary: 'How many outbox deliveries stand in each status',
      tags: ['Admin'],
      access: 'admin',
      readsFrom: [DATA_PLATFORM_DELIVERIES],
      response: {
        status: 200,
        description: 'Deliveries per status, counted in the read model',
        schema: z.object({
          PENDING: z.number().int().min(0).openapi({ description: 'Queued or being retried', example: 2 }),
          DELIVERED: z.number().int().min(0).openapi({ example: 1_318 }),
          DEAD: z.number().int().min(0).openapi({ description: 'Out of attempts: waiting for an admin retry', example: 1 }),
        }),
      },
      async handle() {
        return { status: 200, body: await deliveries.counts() };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/admin/data-platform/deliveries/{id}/retry',
      operationId: 'retryDelivery',
      summary: 'Queue a DEAD delivery again, with a fresh allowance of attempts',
      tags: ['Admin'],
      access: 'admin',
      idempotent: true,
      params: z.strictObject({ id: z.string().min(1).max(100).openapi({ param: { example: DELIVERY_ID_EXAMPLE } }) }),
      response: { status: 202, description: 'The delivery is PENDING again and queued', schema: deliverySchema },
      errors: { 404: ['DELIVERY_NOT_FOUND'], 409: ['DELIVERY_NOT_DEAD'] },
      async handle({ params }) {
        const delivery = await deliveries.revive(params.id);
        // PENDING is what the retry promises; a job that cannot be queued now is queued by the reconciler.
        await deliveryQueue.enqueue([delivery.id]).catch((error: unknown) => {
          logger.warn({ err: error, delivery: delivery.id }, 'could not queue a retried delivery; the reconciler will');
        });
        return { status: 202, body: view(delivery) };
      },
    }),
  ];
};
