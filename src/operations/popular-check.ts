import { EventStore } from '../shared/eventstore/port';
import { recorded } from '../shared/eventstore/recorded';
import { SalesRanking } from '../../projections/ranking/port';
import { OrderEvent } from '../write/order/events';
import { orderStream } from '../write/order/decider';
import { unreachable } from '../shared/domain/decider';
import { localDay } from '../shared/time/window';

const ORDER_STREAMS = orderStream('');

export interface RankingDifference {
  readonly productId: string;
  readonly live: number;
  readonly recounted: number;
}

/**
 * Recounts the window by brute force over every order event in the log, the slow way the
 * projection avoids, and lists the products whose live count differs. Used by the admin check
 * and the CLI; an empty list means the ranking can be trusted.
 */
export async function checkRanking(events: EventStore, ranking: SalesRanking, days: readonly string[], timeZone: string): Promise<RankingDifference[]> {
  const inWindow = new Set(days);
  const lines = new Map<string, readonly { productId: string; quantity: number }[]>();
  const paidOn = new Map<string, string>();
  const recount = new Map<string, number>();
  const add = (orderId: string, sign: number) => {
    if (!inWindow.has(paidOn.get(orderId)!)) return;
    for (const line of lines.get(orderId) ?? []) recount.set(line.productId, (recount.get(line.productId) ?? 0) + sign * line.quantity);
  };
  for (let after: string | null = null; ; ) {
    const page = await events.readAll(after, 1000);
    if (page.length === 0) break;
    for (const stored of page) {
      if (!stored.stream.startsWith(ORDER_STREAMS)) continue;
      const event = recorded<OrderEvent>(stored);
      switch (event.type) {
        case 'OrderPlaced':
          lines.set(event.data.orderId, event.data.lines);
          break;
        case 'OrderPaid':
          paidOn.set(event.data.orderId, localDay(event.data.occurredAt, timeZone));
          add(event.data.orderId, 1);
          break;
        case 'OrderCancelled':
          if (event.data.refunded) add(event.data.orderId, -1);
          break;
        case 'PaymentFailed':
          break;
        default:
          unreachable(event);
      }
    }
    after = page[page.length - 1].position;
  }
  const live = new Map((await ranking.top(days, Number.MAX_SAFE_INTEGER)).map((entry) => [entry.productId, entry.quantity]));
  const products = new Set([...live.keys(), ...[...recount].filter(([, quantity]) => quantity !== 0).map(([id]) => id)]);
  return [...products]
    .map((productId) => ({ productId, live: live.get(productId) ?? 0, recounted: recount.get(productId) ?? 0 }))
    .filter((difference) => difference.live !== difference.recounted)
    .sort((a, b) => (a.productId < b.productId ? -1 : 1));
}
