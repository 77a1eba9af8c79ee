import { DeliveredEventType, DeliveryDoc } from '../../projections/data-platform-outbox';
import { OrderStatus, orderDecider } from '../write/order/decider';
import { OrderEvent, OrderLine, OrderType } from '../write/order/events';
import { fold } from '../shared/domain/decider';
import { EventStore } from '../shared/eventstore/port';
import { recorded } from '../shared/eventstore/recorded';

/** What the data platform receives for one delivery: the order as it stood after that event. */
export interface OrderPayload {
  /** Also the Idempotency-Key header. */
  readonly eventId: string;
  readonly eventType: DeliveredEventType;
  readonly orderId: string;
  readonly userId: string;
  readonly orderType: OrderType;
  readonly status: OrderStatus;
  readonly lines: readonly OrderLine[];
  readonly couponId: string | null;
  readonly subtotal: number;
  readonly discount: number;
  readonly total: number;
  readonly placedAt: string;
  readonly paidAt: string | null;
  readonly cancelledAt: string | null;
  /** When the delivered event happened. */
  readonly occurredAt: string;
}

/**
 * Folds the order stream up to the delivered event (later events belong to later deliveries)
 * and copies the fields the platform may see one by one: the sealed payer is in the folded
 * state and must never leave, so nothing is spread from it.
 */
export async function orderPayload(events: EventStore, delivery: DeliveryDoc): Promise<OrderPayload> {
  const upTo = BigInt(delivery.revision);
  const stream = (await events.readStream(delivery.stream)).filter((event) => event.revision <= upTo);
  const state = fold(orderDecider, orderDecider.initialState, stream.map((event) => recorded<OrderEvent>(event)));
  if (!state.exists) throw new Error(`${delivery.stream} has no OrderPlaced up to revision ${delivery.revision}`);
  return {
    eventId: delivery.id,
    eventType: delivery.eventType,
    orderId: state.orderId,
    userId: state.userId,
    orderType: state.orderType,
    status: state.status,
    lines: state.lines.map(({ kind, productId, name, unitPrice, quantity, amount }) => ({ kind, productId, name, unitPrice, quantity, amount })),
    couponId: state.coupon?.couponId ?? null,
    subtotal: state.subtotal,
    discount: state.discount,
    total: state.total,
    placedAt: state.placedAt,
    paidAt: state.paidAt,
    cancelledAt: state.cancelledAt,
    occurredAt: delivery.occurredAt,
  };
}
