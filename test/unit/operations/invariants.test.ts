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
      { stream: 'usercoupon-c1:u1', events: [event('CouponExpired', { couponId: 'c1', userCouponId: 'c1:u1', userId: 'u1' })] },
    );
    expect(problems).toEqual([
      'product-p1@1 ProductRetired: is not an event type of its stream',
      'coupon-c1@1 CouponRenamed: is not an event type of its stream',
      'usercoupon-c1:u1@0 CouponExpired: is not an event type of its stream',
    ]);
  });

  describe('a coupon used by one order at a time, in its campaign stream (logs from before) and then its own', () => {
    const use = (type: 'CouponUsed' | 'CouponRestored', orderId: string) => event(type, { couponId: 'c1', userCouponId: 'c1:u1', userId: 'u1', orderId, occurredAt: at });
    const order = (orderId: string, ...more: NewEvent[]) => ({
      stream: `order-${orderId}`,
      events: [
        event('OrderPlaced', { orderId, userId: 'u1', lines: [], coupon: { userCouponId: 'c1:u1', couponId: 'c1', discount: 0 }, subtotal: 0, discount: 0, total: 0, occurredAt: at }),
        event('OrderPaid', { orderId, userId: 'u1', total: 0, occurredAt: at }),
        ...more,
      ],
    });
    const cancelled = (orderId: string) => event('OrderCancelled', { orderId, userId: 'u1', refunded: true, occurredAt: at });
    const campaign = (...uses: NewEvent[]) => ({
      stream: 'coupon-c1',
      events: [event('CouponCreated', { couponId: 'c1', totalQuantity: 1, occurredAt: at }), event('CouponIssued', { couponId: 'c1', userCouponId: 'c1:u1', userId: 'u1', issuedQuantity: 1, occurredAt: at }), ...uses],
    });
    const own = (...uses: NewEvent[]) => ({ stream: 'usercoupon-c1:u1', events: uses });

    it('finds nothing wrong when a use from before is given back and the coupon used again on its own stream', async () => {
      expect(await problemsOf(campaign(use('CouponUsed', 'o1')), order('o1', cancelled('o1')), order('o2'), own(use('CouponRestored', 'o1'), use('CouponUsed', 'o2')))).toEqual([]);
    });

    it('reports a user coupon stream that uses the coupon twice without giving it back', async () => {
      expect(await problemsOf(campaign(), order('o1'), order('o2'), own(use('CouponUsed', 'o1'), use('CouponUsed', 'o2')))).toEqual([
        'usercoupon-c1:u1@1 CouponUsed: already used by order o1',
      ]);
    });

    it('reports a use on its own stream while the campaign says an order from before still holds it', async () => {
      expect(await problemsOf(campaign(use('CouponUsed', 'o1')), order('o1'), order('o2'), own(use('CouponUsed', 'o2')))).toEqual([
        'usercoupon-c1:u1@0 CouponUsed: already used by order o1',
      ]);
    });

    it('reports a use written to the campaign after the user coupon had its own stream (old and new versions side by side)', async () => {
      expect(await problemsOf(campaign(), order('o1', cancelled('o1')), own(use('CouponUsed', 'o1')), { stream: 'coupon-c1', events: [use('CouponRestored', 'o1')] })).toEqual([
        'coupon-c1@2 CouponRestored: recorded in the campaign after c1:u1 had its own stream',
      ]);
    });

    it('reports a use on the stream of another user coupon', async () => {
      expect(await problemsOf(campaign(), order('o1'), { stream: 'usercoupon-c1:u2', events: [use('CouponUsed', 'o1')] })).toEqual([
        'usercoupon-c1:u2@0 CouponUsed: is about c1:u1, not this stream\'s user coupon',
      ]);
    });
  });
});
