import { randomUUID } from 'node:crypto';
import { checkLog } from '../../../src/operations/invariants';
import { NewEvent } from '../../../src/shared/eventstore/port';
import { SqliteEventStore } from '../../../src/shared/eventstore/sqlite';

const at = '2026-11-25T01:00:00.000Z';
const event = (type: string, data: Record<string, unknown>): NewEvent => ({ id: randomUUID(), type, data, metadata: {} });

async function problemsOf(...writes: { stream: string; events: NewEvent[] }[]): Promise<readonly string[]> {
  const store = new SqliteEventStore(':memory:');
  try {
    for (const { stream, events } of writes) await store.append([{ stream, expectedRevision: 'any', events }]);
    return (await checkLog(store, { balanceCap: 1_000_000 })).problems;
  } finally {
    await store.close();
  }
}

describe('log check', () => {
  it('finds nothing wrong in a sound wallet', async () => {
    expect(await problemsOf({ stream: 'wallet-u1', events: [event('PointsCharged', { userId: 'u1', amount: 500, balanceAfter: 500, occurredAt: at })] })).toEqual([]);
  });

  it('reports an event type it does not know instead of taking it for a refund', async () => {
    const problems = await problemsOf({
      stream: 'wallet-u1',
      events: [
        event('PointsCharged', { userId: 'u1', amount: 500, balanceAfter: 500, occurredAt: at }),
        event('PointsExpired', { userId: 'u1', amount: 100, orderId: 'o1', balanceAfter: 400, occurredAt: at }),
      ],
    });
    expect(problems).toEqual(['wallet-u1@1 PointsExpired: is not an event type of its stream']);
  });

  it('reports unknown types on every aggregate it folds', async () => {
    const problems = await problemsOf(
      { stream: 'product-p1', events: [event('ProductRegistered', { productId: 'p1', name: 'Mug', price: 100, stock: 1, occurredAt: at }), event('ProductRetired', { productId: 'p1' })] },
      { stream: 'coupon-c1', events: [event('CouponCreated', { couponId: 'c1', totalQuantity: 1, occurredAt: at }), event('CouponRenamed', { couponId: 'c1', userId: 'u1' })] },
    );
    expect(problems).toEqual(['product-p1@1 ProductRetired: is not an event type of its stream', 'coupon-c1@1 CouponRenamed: is not an event type of its stream']);
  });
});
