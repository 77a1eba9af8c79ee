import { bearer, startTestApp, TestApp } from '../support/app';
import { as, httpSpec } from '../support/http-spec';

/** The admin lists the console reads: coupon campaigns and every user's orders, newest first. */
describe('admin lists', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await t.tokenFor('lists-admin', 'admin');
  });
  afterAll(async () => t.close());

  const spec = () => httpSpec(t).given();
  const theAdmin = as('lists-admin', 'admin');
  const consistentWith = (position: string) => ({ 'X-Consistent-With': position });

  /** Campaign ids are the server's, so campaigns are created before the spec that reads them. */
  const createCoupon = async (name: string, totalQuantity: number) => {
    const res = await t.http().post('/admin/coupons').set(bearer(admin)).send({ name, discount: { type: 'FIXED', amount: 500 }, totalQuantity });
    expect(res.status).toBe(201);
    return res.body as { couponId: string; position: string };
  };

  it('GET /admin/coupons pages through the campaigns newest first with issued and remaining counts', async () => {
    const first = await createCoupon('First', 3);
    const second = await createCoupon('Second', 5);
    const issued = await t.http().post(`/coupons/${first.couponId}/issue`).set(bearer(await t.tokenFor('lists-buyer')));
    expect(issued.status).toBe(201);

    const page1 = await spec()
      .when(theAdmin.get('/admin/coupons?limit=1', undefined, consistentWith(issued.body.position)))
      .then(200, { items: [{ couponId: second.couponId, name: 'Second', totalQuantity: 5, issuedQuantity: 0, remainingQuantity: 5 }], nextCursor: expect.any(String) });
    expect(page1.body.items[0]).not.toHaveProperty('id');
    const page2 = await spec()
      .when(theAdmin.get(`/admin/coupons?limit=1&cursor=${page1.body.nextCursor}`))
      .then(200, { items: [{ couponId: first.couponId, issuedQuantity: 1, remainingQuantity: 2 }] });
    // Each item is what GET /coupons/{id} answers.
    expect(page2.body.items[0]).toEqual((await t.http().get(`/coupons/${first.couponId}`)).body);
  });

  it("GET /admin/orders lists every user's orders newest first, with the user and without the payer", async () => {
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
    const res = await spec()
      .when(theAdmin.get('/admin/orders?limit=2', undefined, consistentWith(position)))
      .then(200, {
        items: [
          { orderId: placed[1], userId: 'lists-ben', status: 'PAID' },
          { orderId: placed[0], userId: 'lists-ann', status: 'PAID' },
        ],
      });
    expect(JSON.stringify(res.body)).not.toContain('ann@example.com');
    expect(res.body.items[0]).not.toHaveProperty('payer');
  });

  it.each(['/admin/coupons', '/admin/orders'])('refuses customers %s (403)', async (path) => {
    await spec().when(as('lists-nosy').get(path)).thenRefused(403, 'FORBIDDEN');
  });
});
