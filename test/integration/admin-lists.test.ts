import { bearer, startTestApp, TestApp } from '../support/app';

/** The admin lists the console reads: coupon campaigns and every user's orders, newest first. */
describe('admin lists', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await t.tokenFor('lists-admin', 'admin');
  });
  afterAll(async () => t.close());

  const createCoupon = async (name: string, totalQuantity: number) => {
    const res = await t.http().post('/admin/coupons').set(bearer(admin)).send({ name, discount: { type: 'FIXED', amount: 500 }, totalQuantity });
    expect(res.status).toBe(201);
    return res.body as { couponId: string; position: string };
  };

  it('GET /admin/coupons pages through the campaigns newest first with issued and remaining counts', async () => {
    const first = await createCoupon('First', 3);
    const second = await createCoupon('Second', 5);
    const buyer = await t.tokenFor('lists-buyer');
    const issued = await t.http().post(`/coupons/${first.couponId}/issue`).set(bearer(buyer));
    expect(issued.status).toBe(201);

    const page1 = await t.http().get('/admin/coupons?limit=1').set(bearer(admin)).set('X-Consistent-With', issued.body.position);
    expect(page1.status).toBe(200);
    expect(page1.body.items).toEqual([expect.objectContaining({ couponId: second.couponId, name: 'Second', totalQuantity: 5, issuedQuantity: 0, remainingQuantity: 5 })]);
    expect(page1.body.items[0]).not.toHaveProperty('id');
    const page2 = await t.http().get(`/admin/coupons?limit=1&cursor=${page1.body.nextCursor}`).set(bearer(admin));
    expect(page2.body.items).toEqual([expect.objectContaining({ couponId: first.couponId, issuedQuantity: 1, remainingQuantity: 2 })]);
    // Each item is what GET /coupons/{id} answers.
    expect(page2.body.items[0]).toEqual((await t.http().get(`/coupons/${first.couponId}`)).body);
  });

  it('GET /admin/orders lists every user\'s orders newest first, with the user and without the payer', async () => {
    const product = await t.http().post('/admin/products').set(bearer(admin)).send({ name: 'Lamp', price: 1_000, stock: 10 });
    const placed: string[] = [];
    let position = '';
    for (const userId of ['lists-ann', 'lists-ben']) {
      const token = await t.tokenFor(userId);
      expect((await t.http().post('/me/points/charge').set(bearer(token)).send({ amount: 5_000 })).status).toBe(200);
      const payer = { name: 'Ann Lee', phone: '010-5555-0000', email: 'ann@example.com' };
      const res = await t.http().post('/checkout').set(bearer(token)).send({ items: [{ productId: product.body.id, quantity: 1 }], payer });
      expect(res.status).toBe(201);
      placed.push(res.body.orderId);
      position = res.body.position;
    }
    const res = await t.http().get('/admin/orders?limit=2').set(bearer(admin)).set('X-Consistent-With', position);
    expect(res.status).toBe(200);
    expect(res.body.items.map((o: { orderId: string; userId: string; status: string }) => [o.orderId, o.userId, o.status])).toEqual([
      [placed[1], 'lists-ben', 'PAID'],
      [placed[0], 'lists-ann', 'PAID'],
    ]);
    expect(JSON.stringify(res.body)).not.toContain('ann@example.com');
    expect(res.body.items[0]).not.toHaveProperty('payer');
  });

  it('refuses customers both lists (403)', async () => {
    const customer = await t.tokenFor('lists-nosy');
    for (const path of ['/admin/coupons', '/admin/orders']) {
      const res = await t.http().get(path).set(bearer(customer));
      expect([path, res.status, res.body.code]).toEqual([path, 403, 'FORBIDDEN']);
    }
  });
});
