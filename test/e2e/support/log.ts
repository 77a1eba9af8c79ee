import { EventStore } from '../../../src/shared/eventstore/port';
import { recorded } from '../../../src/shared/eventstore/recorded';
import { CouponEvent } from '../../../src/write/coupon/events';
import { OrderEvent } from '../../../src/write/order/events';
import { ProductEvent } from '../../../src/write/product/events';
import { WalletEvent } from '../../../src/write/wallet/events';

export interface OrderFacts {
  readonly userId: string;
  paid: boolean;
  cancelled: boolean;
}

/** What the log says landed, for checking each request's answer against it. */
export interface LogFacts {
  readonly holders: ReadonlyMap<string, ReadonlySet<string>>;
  readonly orders: ReadonlyMap<string, OrderFacts>;
  /** Amounts charged, per user, in log order. */
  readonly charges: ReadonlyMap<string, readonly number[]>;
  /** Each product's stock after its last event. */
  readonly stock: ReadonlyMap<string, number>;
}

/** Reads the cluster's event log (the truth) through the event store port, and closes the store. */
export async function readLog(events: EventStore): Promise<LogFacts> {
  const holders = new Map<string, Set<string>>();
  const orders = new Map<string, OrderFacts>();
  const charges = new Map<string, number[]>();
  const stock = new Map<string, number>();
  try {
    for (let after: string | null = null; ; ) {
      const page = await events.readAll(after, 5_000);
      if (page.length === 0) break;
      for (const stored of page) {
        const event = recorded<CouponEvent | OrderEvent | WalletEvent | ProductEvent>(stored);
        if (event.type === 'CouponIssued') {
          if (!holders.has(event.data.couponId)) holders.set(event.data.couponId, new Set());
          holders.get(event.data.couponId)!.add(event.data.userId);
        } else if (event.type === 'OrderPlaced') orders.set(event.data.orderId, { userId: event.data.userId, paid: false, cancelled: false });
        else if (event.type === 'OrderPaid') orders.get(event.data.orderId)!.paid = true;
        else if (event.type === 'OrderCancelled') orders.get(event.data.orderId)!.cancelled = true;
        else if (event.type === 'PointsCharged') charges.set(event.data.userId, [...(charges.get(event.data.userId) ?? []), event.data.amount]);
        else if (event.type === 'ProductRegistered') stock.set(event.data.productId, event.data.stock);
        else if (event.type === 'StockAdded' || event.type === 'StockDecreased' || event.type === 'StockRestored') stock.set(event.data.productId, event.data.stockAfter);
      }
      after = page[page.length - 1].position;
    }
  } finally {
    await events.close();
  }
  return { holders, orders, charges, stock };
}
