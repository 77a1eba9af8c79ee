/**
 * For the data-platform tests: order histories written straight into the log, as the order
 * flows would (src/write/order/events.ts is the contract), the mock platform's HTTP API, and polling.
 */
import { randomUUID } from 'node:crypto';
import { MockMode, MockState } from '../../src/data-platform/mock-server';
import { Payer, PayerCipher } from '../../src/shared/crypto/payer';
import { EventStore, NewEvent } from '../../src/shared/eventstore/port';
import { orderStream } from '../../src/write/order/decider';
import { OrderEvent, OrderLine } from '../../src/write/order/events';
import { eventually } from '../support/eventually';

export { eventually };

export const PAYER: Payer = { name: 'Kim Minji', phone: '010-1234-5678', email: 'minji@example.com' };

export const LINES: readonly OrderLine[] = [
  { kind: 'PRODUCT', productId: 'p-pen', name: 'Pen', unitPrice: 1000, quantity: 2, amount: 2000 },
  { kind: 'PRODUCT', productId: 'p-ink', name: 'Ink', unitPrice: 500, quantity: 1, amount: 500 },
];

/** What happens to the order after it is placed, in this order. */
export interface History {
  readonly failedPayment?: boolean;
  readonly paid?: boolean;
  readonly cancelled?: boolean;
  readonly coupon?: boolean;
}

export interface SeededOrder {
  readonly orderId: string;
  readonly userId: string;
  /** Event ids by type: each OrderPaid and OrderCancelled is one delivery. */
  readonly ids: Readonly<Partial<Record<OrderEvent['type'], string>>>;
  /** The sealed payer as it sits in the OrderPaid event. */
  readonly ciphertext: string | null;
  /** Log position of the last event written. */
  readonly position: string;
}

export const deliveryIds = (order: SeededOrder): string[] => [order.ids.OrderPaid, order.ids.OrderCancelled].filter((id): id is string => id !== undefined);

export async function seedOrder(events: EventStore, payers: PayerCipher, userId: string, history: History): Promise<SeededOrder> {
  const orderId = `order-${randomUUID()}`;
  const at = (second: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, second)).toISOString();
  const discount = history.coupon ? 300 : 0;
  const written: Array<{ type: OrderEvent['type']; data: OrderEvent['data'] }> = [
    {
      type: 'OrderPlaced',
      data: {
        orderId,
        userId,
        orderType: 'NORMAL',
        lines: LINES,
        coupon: history.coupon ? { userCouponId: 'uc-1', couponId: 'c-1', discount } : null,
        subtotal: 2500,
        discount,
        total: 2500 - discount,
        occurredAt: at(0),
      },
    },
  ];
  if (history.failedPayment) written.push({ type: 'PaymentFailed', data: { orderId, userId, reason: 'POINTS_INSUFFICIENT', occurredAt: at(1) } });
  const payer = history.paid ? await payers.seal(userId, PAYER) : null;
  if (payer) written.push({ type: 'OrderPaid', data: { orderId, userId, total: 2500 - discount, payer, occurredAt: at(2) } });
  if (history.cancelled) written.push({ type: 'OrderCancelled', data: { orderId, userId, refunded: history.paid === true, occurredAt: at(3) } });

  const ids: Partial<Record<OrderEvent['type'], string>> = {};
  let position = '';
  for (const [revision, event] of written.entries()) {
    const stored: NewEvent = { id: randomUUID(), type: event.type, data: event.data };
    ids[event.type] = stored.id;
    const expectedRevision = revision === 0 ? 'no_stream' : BigInt(revision - 1);
    ({ position } = await events.append([{ stream: orderStream(orderId), expectedRevision, events: [stored] }]));
  }
  return { orderId, userId, ids, ciphertext: payer?.ciphertext ?? null, position };
}

/** The mock data platform's control API, over HTTP as any client of it would use it. */
export const mockPlatformAt = (url: string) => ({
  async state(): Promise<MockState> {
    return (await fetch(`${url}/_mock`)).json() as Promise<MockState>;
  },
  async mode(mode: MockMode, slowMs?: number): Promise<void> {
    const res = await fetch(`${url}/_mock/mode`, { method: 'PUT', body: JSON.stringify({ mode, slowMs }) });
    if (res.status !== 200) throw new Error(`mock refused mode ${mode}: ${res.status}`);
  },
});
