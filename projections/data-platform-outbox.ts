import type { Logger } from 'pino';
import { Queue } from '../src/shared/queue/port';
import { OrderEvent } from '../src/write/order/events';
import { Recorded } from '../src/shared/eventstore/recorded';
import { projection, ProjectionView, skip } from './projection';

export const DATA_PLATFORM_DELIVERIES = 'data_platform_deliveries';

export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'DEAD'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export type DeliveredEventType = Extract<OrderEvent['type'], 'OrderPaid' | 'OrderCancelled'>;

/**
 * One delivery per OrderPaid or OrderCancelled event, keyed by the event id (the idempotency
 * key the data platform sees). The projection only creates it; the delivery workers and the
 * admin retry move its status, attempts and error afterwards.
 */
export type DeliveryDoc = {
  readonly id: string;
  readonly orderId: string;
  readonly eventType: DeliveredEventType;
  /** The order stream and the event's revision in it: the payload is the order folded up to here. */
  readonly stream: string;
  readonly revision: string;
  /** Log position of the event: lists are ordered by it. */
  readonly position: string;
  readonly occurredAt: string;
  readonly status: DeliveryStatus;
  /** Requests the data platform answered (or failed to answer) for this delivery. */
  readonly attempts: number;
  readonly lastError: string | null;
  readonly deliveredAt: string | null;
  readonly updatedAt: string;
};

async function createDelivery(event: Recorded<Extract<OrderEvent, { type: DeliveredEventType }>>, view: ProjectionView): Promise<void> {
  // A delivery that exists already carries the workers' progress: a redelivered event keeps it.
  if (await view.get(DATA_PLATFORM_DELIVERIES, event.id)) return;
  const doc: DeliveryDoc = {
    id: event.id,
    orderId: event.data.orderId,
    eventType: event.type,
    stream: event.stream,
    revision: event.revision.toString(),
    position: event.position,
    occurredAt: event.data.occurredAt,
    status: 'PENDING',
    attempts: 0,
    lastError: null,
    deliveredAt: null,
    updatedAt: event.data.occurredAt,
  };
  view.upsert(DATA_PLATFORM_DELIVERIES, doc);
}

/**
 * The outbox to the data platform: a checkpointed consumer of the log, so every paid or
 * cancelled order gets a delivery exactly when its event is in the log, never before and
 * never lost. After the batch commits, each new delivery's job goes on the queue. That step
 * can fail after the checkpoint moved (Redis away, a crash): the reconciler re-enqueues
 * PENDING deliveries that have no job, so the failure only delays them.
 */
export const dataPlatformOutboxProjection = (queue: Queue, logger: Logger) => projection<OrderEvent>({
  name: DATA_PLATFORM_DELIVERIES,
  collections: [{ name: DATA_PLATFORM_DELIVERIES, indexes: [['status', 'position'], ['position']] }],
  handlers: { OrderPlaced: skip, OrderPaid: createDelivery, PaymentFailed: skip, OrderCancelled: createDelivery },
  comparable(_collection, doc) {
    const { status: _status, attempts: _attempts, lastError: _lastError, deliveredAt: _deliveredAt, updatedAt: _updatedAt, ...created } = doc as DeliveryDoc;
    return created;
  },
  async afterCommit(events) {
    try {
      await queue.enqueue(events.map((event) => event.id));
    } catch (error) {
      logger.warn({ err: error, events: events.length }, 'could not queue data-platform deliveries; the reconciler will');
    }
  },
});
