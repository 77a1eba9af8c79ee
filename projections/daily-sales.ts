import { DocumentStore } from '../src/shared/documents/port';
import { localDay } from '../src/shared/time/window';
import { DAILY_SALES, DailySalesDoc, dailySalesId } from './ranking/documents';
import { DailySales, SalesRanking } from './ranking/port';
import { OrderEvent } from '../src/write/order/events';
import { Projection, projection, ProjectionView, skip } from './projection';

/** What the projection remembers of an order: its lines, the local day it was counted on, and whether it was taken off again. */
export const SALES_ORDERS = 'sales_orders';
type SalesOrderDoc = {
  readonly id: string;
  readonly lines: readonly { readonly productId: string; readonly quantity: number }[];
  readonly countedOn: string | null;
  readonly uncounted: boolean;
};

/**
 * Quantity sold per product per local day: a paid order adds its lines on the day it was paid;
 * cancelling a paid order takes them off that same day. Runs off the request path; once a
 * batch is committed the ranking index gets the new absolute counts of the pairs it touched.
 */
export function dailySalesProjection(documents: DocumentStore, ranking: SalesRanking, timeZone: string): Projection {
  /** A batch whose counts did not reach the ranking (Redis away): the next idle moment refills it. */
  let missedRecord = false;
  /** Moves the order to `next` and its lines' counts on the day it was counted on: up when it is counted, down when taken off. */
  const count = async (view: ProjectionView, order: SalesOrderDoc, next: SalesOrderDoc) => {
    const sign = next.uncounted ? -1 : 1;
    for (const line of order.lines) {
      const id = dailySalesId(next.countedOn!, line.productId);
      const current = await view.get<DailySalesDoc>(DAILY_SALES, id);
      view.upsert(DAILY_SALES, { id, day: next.countedOn!, productId: line.productId, quantity: (current?.quantity ?? 0) + sign * line.quantity } satisfies DailySalesDoc);
    }
    view.upsert(SALES_ORDERS, next);
  };
  return projection<OrderEvent>({
    name: DAILY_SALES,
    collections: [
      { name: DAILY_SALES, indexes: [['day']] },
      { name: SALES_ORDERS, indexes: [] },
    ],
    handlers: {
      OrderPlaced(event, view) {
        const lines = event.data.lines.map(({ productId, quantity }) => ({ productId, quantity }));
        view.upsert(SALES_ORDERS, { id: event.data.orderId, lines, countedOn: null, uncounted: false } satisfies SalesOrderDoc);
      },
      async OrderPaid(event, view) {
        const order = await view.get<SalesOrderDoc>(SALES_ORDERS, event.data.orderId);
        if (order && order.countedOn === null) await count(view, order, { ...order, countedOn: localDay(event.data.occurredAt, timeZone) });
      },
      PaymentFailed: skip,
      async OrderCancelled(event, view) {
        if (!event.data.refunded) return;
        const order = await view.get<SalesOrderDoc>(SALES_ORDERS, event.data.orderId);
        if (order && order.countedOn !== null && !order.uncounted) await count(view, order, { ...order, uncounted: true });
      },
    },
    async afterCommit(events) {
      try {
        const orders = await documents.getMany<SalesOrderDoc>(SALES_ORDERS, [...new Set(events.map((e) => e.data.orderId))]);
        const ids = orders.flatMap((order) => (order.countedOn ? order.lines.map((line) => dailySalesId(order.countedOn!, line.productId)) : []));
        const counts = await documents.getMany<DailySalesDoc>(DAILY_SALES, ids);
        await ranking.record(counts.map(({ day, productId, quantity }) => ({ day, productId, quantity })));
      } catch (error) {
        missedRecord = true;
        throw error;
      }
    },
    onReset: () => ranking.clear(),
    async recover(tookOver) {
      if (!tookOver && !missedRecord && (await ranking.intact())) return;
      await ranking.refill(dailyCounts(documents));
      missedRecord = false;
    },
  });
}

/** Every committed daily count, page by page: what a lost ranking index is refilled from. */
async function* dailyCounts(documents: DocumentStore): AsyncIterable<DailySales> {
  let cursor: string | null = null;
  do {
    const page: { items: DailySalesDoc[]; nextCursor: string | null } = await documents.find<DailySalesDoc>(DAILY_SALES, { limit: 1000, cursor });
    for (const { day, productId, quantity } of page.items) yield { day, productId, quantity };
    cursor = page.nextCursor;
  } while (cursor);
}
