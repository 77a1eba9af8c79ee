import { Recorded } from '../src/shared/eventstore/recorded';
import { unreachable } from '../src/shared/domain/decider';
import { ProductEvent, ProductUpdated } from '../src/write/product/events';
import { projection, ProjectionView, skip } from './projection';

export const STOCK_HISTORY = 'stock_history';

export type StockChangeReason = 'REGISTERED' | 'RESTOCK' | 'ORDER' | 'CANCEL';

export type StockHistoryDoc = {
  readonly id: string;
  readonly productId: string;
  readonly delta: number;
  readonly reason: StockChangeReason;
  readonly orderId?: string;
  readonly stockAfter: number;
  readonly occurredAt: string;
  /** Log position: orders entries exactly as they happened, even within one millisecond. */
  readonly position: string;
};

type StockEvent = Exclude<ProductEvent, ProductUpdated>;

function change(event: StockEvent): Pick<StockHistoryDoc, 'delta' | 'reason' | 'orderId' | 'stockAfter'> {
  switch (event.type) {
    case 'ProductRegistered':
      return { delta: event.data.stock, reason: 'REGISTERED', stockAfter: event.data.stock };
    case 'StockAdded':
      return { delta: event.data.quantity, reason: 'RESTOCK', stockAfter: event.data.stockAfter };
    case 'StockDecreased':
      return { delta: -event.data.quantity, reason: 'ORDER', orderId: event.data.orderId, stockAfter: event.data.stockAfter };
    case 'StockRestored':
      return { delta: event.data.quantity, reason: 'CANCEL', orderId: event.data.orderId, stockAfter: event.data.stockAfter };
    default:
      return unreachable(event);
  }
}

function entry(event: Recorded<StockEvent>, view: ProjectionView): void {
  const doc: StockHistoryDoc = {
    id: event.position,
    productId: event.data.productId,
    ...change(event),
    occurredAt: event.data.occurredAt,
    position: event.position,
  };
  view.upsert(STOCK_HISTORY, doc);
}

/**
 * One entry per stock change, keyed by the event's log position: a redelivered event rewrites the
 * same entry, and new entries land at the end of the key order instead of at a random place
 * (an event id is a random UUID), where each insert rewrote a random leaf of the table's key
 * (docs/BENCHMARKS.md, "Fifth round").
 */
export const stockHistoryProjection = projection<ProductEvent>({
  name: STOCK_HISTORY,
  collections: [{ name: STOCK_HISTORY, indexes: [['productId', 'position']] }],
  handlers: { ProductRegistered: entry, ProductUpdated: skip, StockAdded: entry, StockDecreased: entry, StockRestored: entry },
});
