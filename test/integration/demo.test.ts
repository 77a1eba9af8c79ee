import { fillShop, travellingClock } from '../../src/demo/fill';
import { apiClient, must } from '../../src/demo/client';
import { COUPONS, CUSTOMERS, ORDERS, PRODUCTS, WINTER } from '../../src/demo/shop';
import { localDay } from '../../src/shared/time/window';
import { startTestApp, TestApp } from '../support/app';

describe('npm run demo', () => {
  let t: TestApp;
  const { clock, travel } = travellingClock();
  beforeAll(async () => {
    t = await startTestApp({ overrides: { clock } });
  });
  afterAll(async () => t.close());

  it('fills a shop once, however often it runs, with orders over the last three days and a ranking', async () => {
    const first = await fillShop({ baseUrl: t.baseUrl, travel });
    // At once, before the read models may have caught up, and without moving the clock (a server elsewhere).
    const second = await fillShop({ baseUrl: t.baseUrl });
    expect(first.placed).toBe(ORDERS.length);
    expect(second.placed).toBe(0);
    expect(second.products).toEqual(first.products);
    expect(second.coupons).toEqual(first.coupons);

    const admin = apiClient(t.baseUrl, first.tokens['demo-admin']);
    const catalogue = await must(admin.GET('/products', { params: { query: { limit: 100 } } }));
    expect(catalogue.items.map((p) => p.name).sort()).toEqual(PRODUCTS.map((p) => p.name).sort());
    const campaigns = await must(admin.GET('/admin/coupons', { params: { query: { limit: 100 } } }));
    expect(campaigns.items.map((c) => c.name).sort()).toEqual(COUPONS.map((c) => c.name).sort());
    expect(first.coupons.get(WINTER)?.remainingQuantity).toBe(1);

    const orders = await must(admin.GET('/admin/orders', { params: { query: { limit: 100 } } }));
    expect(orders.items).toHaveLength(ORDERS.length);
    expect(orders.items.every((order) => order.status === 'PAID')).toBe(true);
    const days = new Set(orders.items.map((order) => localDay(order.createdAt, 'Asia/Seoul')));
    expect(days.size).toBe(new Set(ORDERS.map((order) => order.daysAgo)).size);

    for (const customer of CUSTOMERS) {
      const api = apiClient(t.baseUrl, first.tokens[customer.userId]);
      const history = await must(api.GET('/me/points/history', { params: { query: { limit: 100 } } }));
      expect(history.items.filter((entry) => entry.type === 'CHARGE').map((entry) => entry.amount)).toEqual([customer.points]);
    }

    // Units sold per product, from the plan: USB-C hub 4, keyboard 3, mouse 2, then ones.
    expect(first.ranking.slice(0, 3)).toEqual([
      { rank: 1, name: 'USB-C hub', soldQuantity: 4 },
      { rank: 2, name: 'Mechanical keyboard', soldQuantity: 3 },
      { rank: 3, name: 'Wireless mouse', soldQuantity: 2 },
    ]);
    expect(second.ranking.slice(0, 3)).toEqual(first.ranking.slice(0, 3));
  });
});
