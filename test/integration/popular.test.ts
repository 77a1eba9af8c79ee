import { Redis } from 'ioredis';
import { REDIS_URL, startTestApp, TestApp, bearer } from '../support/app';
import { until } from '../support/eventually';

/** A clock the test moves: orders land on chosen days. */
function movableClock(start: string) {
  let now = new Date(start);
  return { now: () => now, set: (iso: string) => (now = new Date(iso)) };
}

interface Purchase {
  at: string;
  items: Array<[string, number]>;
  cancel?: boolean;
}

describe.each([
  ['embedded', {}],
  ['with Redis', { REDIS_URL }],
])('popular products (%s)', (mode, env) => {
  let t: TestApp;
  const clock = movableClock('2026-11-20T03:00:00Z');
  let admin: string;
  let buyer: string;
  const products: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp({ env: { ...env, POPULAR_REFRESH_MS: '1' }, overrides: { clock } });
    admin = await t.tokenFor('admin', 'admin');
    buyer = await t.tokenFor('shopper');
    await t.http().post('/me/points/charge').set(bearer(buyer)).send({ amount: 1_000_000 });
    for (const name of ['A', 'B', 'C', 'D', 'E', 'F']) {
      products[name] = (await t.http().post('/admin/products').set(bearer(admin)).send({ name, price: 100, stock: 10_000 })).body.id;
    }
  });
  afterAll(async () => t.close());

  async function buy(purchases: Purchase[]) {
    for (const purchase of purchases) {
      clock.set(purchase.at);
      const items = purchase.items.map(([name, quantity]) => ({ productId: products[name], quantity }));
      const res = await t.http().post('/checkout').set(bearer(buyer)).send({ items });
      expect(res.status).toBe(201);
      if (purchase.cancel) expect((await t.http().post(`/orders/${res.body.orderId}/cancel`).set(bearer(buyer))).status).toBe(200);
    }
    await t.app.projector.catchUp();
  }

  const popular = async (days: number, limit = 50) => {
    const res = await t.http().get('/products/popular').query({ days, limit });
    expect(res.status).toBe(200);
    return res.body as { items: Array<{ rank: number; name: string; soldQuantity: number; price: number }>; generatedAt: string };
  };
  const ranking = async (days: number, limit = 50) => (await popular(days, limit)).items.map((i) => [i.name, i.soldQuantity]);

  it('ranks by quantity sold per local day, minus cancelled paid orders, ties by product id', async () => {
    await buy([
      // 2026-11-18 (Seoul)
      { at: '2026-11-18T01:00:00Z', items: [['A', 5], ['B', 1]] },
      // 23:30 UTC on the 18th is already the 19th in Seoul.
      { at: '2026-11-18T23:30:00Z', items: [['B', 4]] },
      { at: '2026-11-19T05:00:00Z', items: [['C', 3]], cancel: true },
      { at: '2026-11-20T02:00:00Z', items: [['C', 2], ['D', 2]] },
      { at: '2026-11-20T09:00:00Z', items: [['E', 7]], cancel: true },
    ]);
    clock.set('2026-11-20T12:00:00Z');
    // Expected counts per name; the API orders equal counts by product id, which the ids decide.
    const ranked = (counts: Record<string, number>) =>
      Object.entries(counts).sort(([a, x], [b, y]) => y - x || (products[a] < products[b] ? -1 : 1));
    expect(await ranking(1)).toEqual(ranked({ C: 2, D: 2 }));
    expect(await ranking(2)).toEqual(ranked({ B: 4, C: 2, D: 2 }));
    expect(await ranking(3)).toEqual(ranked({ A: 5, B: 5, C: 2, D: 2 }));
    const top1 = await popular(3, 1);
    expect(top1.items).toHaveLength(1);
    expect(top1.items[0]).toMatchObject({ rank: 1, price: 100, soldQuantity: 5 });
    expect((await t.http().get('/products/popular').query({ days: 31 })).status).toBe(400);
    expect((await t.http().get('/products/popular').query({ limit: 0 })).status).toBe(400);
  });

  it('agrees with a brute-force recount of the log', async () => {
    const check = await t.http().get('/admin/popular-products/check').query({ days: 30 }).set(bearer(admin));
    expect(check.body).toEqual({ days: 30, consistent: true, differences: [] });
  });

  if (mode === 'with Redis') {
    const salesKeys = async (redis: Redis) => redis.keys(`${t.app.services.config.REDIS_PREFIX}sales:*`);

    it('notices a wrong ranking, and a rebuild from the log restores the same answer after its days are lost', async () => {
      const before = await ranking(30);
      const redis = new Redis(REDIS_URL);
      try {
        const days = (await salesKeys(redis)).filter((key) => key.includes('day:'));
        expect(days.length).toBeGreaterThan(0);
        await redis.zadd(days[0], 999, products.F);
        const check = await t.http().get('/admin/popular-products/check').set(bearer(admin));
        expect(check.body.consistent).toBe(false);
        expect(check.body.differences).toEqual([{ productId: products.F, live: 999, recounted: 0 }]);

        // The days go, the marker that says Redis is whole stays: nothing tells the projector to
        // refill, so only a rebuild brings the ranking back.
        await redis.del(...days);
        // The answer is cached for POPULAR_REFRESH_MS (1 ms here), measured by lru-cache's timer-driven clock, which runs late on a busy host.
        await until(async () => (await ranking(30)).length === 0, 'the ranking to show the lost days', 5_000, 20);
        expect((await t.http().post('/admin/projections/daily_sales/rebuild').set(bearer(admin))).status).toBe(202);
        await t.app.projector.catchUp('daily_sales');
        await until(async () => JSON.stringify(await ranking(30)) === JSON.stringify(before), 'the ranking to be refilled', 5_000, 20);
        expect((await t.http().get('/admin/popular-products/check').set(bearer(admin))).body.consistent).toBe(true);
      } finally {
        redis.disconnect();
      }
    });

    it('refills the ranking by itself when Redis comes back empty (its marker gone with the days)', async () => {
      const before = await ranking(30);
      expect(before.length).toBeGreaterThan(0);
      const redis = new Redis(REDIS_URL);
      try {
        await redis.del(...(await salesKeys(redis)));
        // Only a refill (or a rebuild, not asked for here) sets the marker again.
        await until(async () => (await redis.exists(`${t.app.services.config.REDIS_PREFIX}sales:intact`)) === 1, 'the projector to refill Redis', 10_000, 20);
        await until(async () => JSON.stringify(await ranking(30)) === JSON.stringify(before), 'the refilled ranking', 5_000, 20);
        expect((await t.http().get('/admin/popular-products/check').set(bearer(admin))).body.consistent).toBe(true);
      } finally {
        redis.disconnect();
      }
    });
  }

  it('payments go through while the ranking is being rebuilt', async () => {
    clock.set('2026-11-20T13:00:00Z');
    const rebuilding = t.app.projector.rebuild('daily_sales');
    const payments = await Promise.all(
      Array.from({ length: 40 }, () => t.http().post('/checkout').set(bearer(buyer)).send({ items: [{ productId: products.F, quantity: 1 }] })),
    );
    await rebuilding;
    expect(payments.map((p) => p.status)).toEqual(Array(40).fill(201));
    await t.app.projector.catchUp();
    expect((await ranking(1)).find(([name]) => name === 'F')).toEqual(['F', 40]);
    expect((await t.http().get('/admin/popular-products/check').set(bearer(admin))).body.consistent).toBe(true);
  });
});

describe('popular products: cached between refreshes', () => {
  it('serves one computed answer for the refresh period, with its generatedAt', async () => {
    const t = await startTestApp({ env: { POPULAR_REFRESH_MS: '600000' } });
    try {
      const admin = await t.tokenFor('admin', 'admin');
      const buyer = await t.tokenFor('cached-buyer');
      await t.http().post('/me/points/charge').set(bearer(buyer)).send({ amount: 1000 });
      const id = (await t.http().post('/admin/products').set(bearer(admin)).send({ name: 'Cached', price: 10, stock: 100 })).body.id;
      const first = await t.http().get('/products/popular').query({ days: 1 });
      expect(first.body.items).toEqual([]);
      await t.http().post('/checkout').set(bearer(buyer)).send({ items: [{ productId: id, quantity: 3 }] });
      await t.app.projector.catchUp();
      const second = await t.http().get('/products/popular').query({ days: 1 });
      expect(second.body).toEqual(first.body);
      const other = await t.http().get('/products/popular').query({ days: 2 });
      expect(other.body.items).toEqual([expect.objectContaining({ productId: id, soldQuantity: 3 })]);
    } finally {
      await t.close();
    }
  });
});

