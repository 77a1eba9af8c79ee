import { OrderEvent } from '../src/write/order/events';
import { orderDecider, OrderStatus, PlacedOrder } from '../src/write/order/decider';
import { Recorded } from '../src/shared/eventstore/recorded';
import { projection, ProjectionView } from './projection';

export const ORDERS = 'orders';
/** One document per order line, so "my orders containing product X" is an index lookup in both adapters. */
export const ORDER_LINES = 'order_lines';

/** The order's state as the decider folds it, plus the position of the last event it reflects. */
export type OrderDoc = PlacedOrder & {
  readonly id: string;
  readonly createdAt: string;
  readonly position: string;
};

export type OrderLineDoc = {
  readonly id: string;
  readonly orderId: string;
  readonly userId: string;
  readonly productId: string;
  readonly status: OrderStatus;
  readonly createdAt: string;
};

async function fold(event: Recorded<OrderEvent>, view: ProjectionView): Promise<void> {
  const current = await view.get<OrderDoc>(ORDERS, event.data.orderId);
  // The position says which of the order's events the document already reflects: a redelivery is a no-op.
  if (current && current.position >= event.position) return;
  const state = orderDecider.evolve(current ?? orderDecider.initialState, event);
  if (!state.exists) return;
  const doc: OrderDoc = { ...state, id: state.orderId, createdAt: state.placedAt, position: event.position };
  view.upsert(ORDERS, doc);
  for (const line of state.lines) {
    const lineDoc: OrderLineDoc = {
      id: `${state.orderId}:${line.productId}`,
      orderId: state.orderId,
      userId: state.userId,
      productId: line.productId,
      status: state.status,
      createdAt: state.placedAt,
    };
    view.upsert(ORDER_LINES, lineDoc);
  }
}

/** Orders per user: newest first, filterable by status, product and date (indexes in both adapters); all orders newest first for admins. */
export const ordersProjection = projection<OrderEvent>({
  name: ORDERS,
  collections: [
    { name: ORDERS, indexes: [['userId', 'createdAt'], ['userId', 'status', 'createdAt'], ['createdAt']] },
    { name: ORDER_LINES, indexes: [['userId', 'productId', 'createdAt'], ['userId', 'productId', 'status', 'createdAt']] },
  ],
  handlers: { OrderPlaced: fold, OrderPaid: fold, PaymentFailed: fold, OrderCancelled: fold },
});
