import { randomBytes } from 'node:crypto';
import { bearer, startTestApp, TestApp } from '../support/app';
import { answering, as, httpSpec } from '../support/http-spec';
import { ADMIN, PAYER, seedShop, Shop, USER_A, USER_B } from './security.support';

const order = (t: TestApp, token: string, orderId: string, position: string) =>
  t.http().get(`/me/orders/${orderId}`).set(bearer(token)).set('X-Consistent-With', position);

describe('forgetting payment data (crypto-shredding)', () => {
  let t: TestApp;
  let shop: Shop;
  let orderOfB: { orderId: string; position: string };
  beforeAll(async () => {
    t = await startTestApp();
    shop = await seedShop(t);
    await t.http().post('/me/points/charge').set(bearer(shop.customerB)).send({ amount: 5_000 });
    const res = await t.http().post('/checkout').set(bearer(shop.customerB)).send({ items: [{ productId: shop.productId, quantity: 1 }], payer: { ...PAYER, name: 'B' } });
    orderOfB = res.body;
  });
  afterAll(async () => t.close());

  const spec = () => httpSpec(t).given();
  const theAdmin = as(ADMIN, 'admin');

  it("destroys the user's data key: their payer reads null, the events stay, and everything else keeps working", async () => {
    const before = await order(t, shop.customerA, shop.orderId, shop.position);
    expect(before.body.payer).toEqual(PAYER);
    const eventsBefore = await t.app.services.events.readStream(`order-${shop.orderId}`);

    const forgotten = await spec()
      .when(theAdmin.post(`/admin/users/${USER_A}/forget-payment-data`))
      .then(200, { userId: USER_A, keyId: expect.stringMatching(/^dk-/), position: expect.any(String) }, [
        { type: 'PaymentDataForgotten', stream: `privacy-${USER_A}`, data: { userId: USER_A } },
        { type: 'AdminActionPerformed', stream: `admin-${ADMIN}`, data: { route: '/admin/users/{userId}/forget-payment-data', status: 200 } },
      ]);
    expect(Object.keys(forgotten.body).sort()).toEqual(['keyId', 'position', 'userId']);

    const after = await order(t, shop.customerA, shop.orderId, forgotten.body.position);
    expect(after.status).toBe(200);
    const { payer, ...rest } = after.body;
    const { payer: _was, ...restBefore } = before.body;
    expect(payer).toBeNull();
    expect(rest).toEqual(restBefore);
    expect(await t.app.services.events.readStream(`order-${shop.orderId}`)).toEqual(eventsBefore);

    // Recorded with the admin who asked.
    const record = await t.app.services.events.readStream(`privacy-${USER_A}`);
    expect(record.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata }))).toEqual([
      {
        type: 'PaymentDataForgotten',
        data: { userId: USER_A, keyId: forgotten.body.keyId, occurredAt: expect.any(String) },
        metadata: { actorId: 'sec-admin', role: 'admin' },
      },
    ]);

    // Another user's payer is untouched.
    expect((await order(t, shop.customerB, orderOfB.orderId, orderOfB.position)).body.payer).toEqual({ ...PAYER, name: 'B' });

    // The user goes on: points, coupons, orders, and a new payer under a new key.
    const paid = await t.http().post('/checkout').set(bearer(shop.customerA)).send({ items: [{ productId: shop.productId, quantity: 1 }], payer: { ...PAYER, name: 'New' } });
    expect(paid.status).toBe(201);
    expect((await order(t, shop.customerA, paid.body.orderId, paid.body.position)).body.payer).toEqual({ ...PAYER, name: 'New' });
    expect((await order(t, shop.customerA, shop.orderId, paid.body.position)).body.payer).toBeNull();
    expect((await t.http().post(`/orders/${shop.orderId}/cancel`).set(bearer(shop.customerA))).status).toBe(200);
  });

  it('survives a rebuild of the orders read model: the payer is still unreadable, nothing else is lost', async () => {
    const head = (await t.app.services.events.headPosition())!;
    await httpSpec(t)
      .given(answering(202, theAdmin.post('/admin/projections/orders/rebuild')))
      .when(as(USER_A).get(`/me/orders/${shop.orderId}`, undefined, { 'X-Consistent-With': head }))
      .then(200, { status: 'CANCELLED', payer: null });
  });

  it('answers for a user with no key, and records that request too', async () => {
    await spec()
      .when(theAdmin.post('/admin/users/never-paid/forget-payment-data'))
      .then(200, { userId: 'never-paid', keyId: null }, [
        { type: 'PaymentDataForgotten', stream: 'privacy-never-paid', data: { userId: 'never-paid', keyId: null } },
        { type: 'AdminActionPerformed', stream: `admin-${ADMIN}` },
      ]);
  });

  it('is refused to customers, even for themselves', async () => {
    await spec().when(as(USER_B).post(`/admin/users/${USER_B}/forget-payment-data`)).thenRefused(403, 'FORBIDDEN');
    expect((await order(t, shop.customerB, orderOfB.orderId, orderOfB.position)).body.payer).toEqual({ ...PAYER, name: 'B' });
  });
});

describe('rotating the master key', () => {
  const k1 = randomBytes(32).toString('base64');
  const k2 = randomBytes(32).toString('base64');
  // Four runs on one data directory; whatever a failure leaves open is closed here.
  const apps: TestApp[] = [];
  const start = async (options: Parameters<typeof startTestApp>[0]) => {
    const app = await startTestApp(options);
    apps.push(app);
    return app;
  };
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
  });

  it('keeps old data readable through PAYER_KEY_PREVIOUS, re-wraps every data key, then needs only the new key', async () => {
    const first = await start({ env: { PAYER_KEY: k1 } });
    const shop = await seedShop(first);
    await first.stop();

    const withoutPrevious = await start({ dataDir: first.dataDir, env: { PAYER_KEY: k2 } });
    // A forgotten previous key is a configuration fault: loud, never a silent null.
    expect((await order(withoutPrevious, shop.customerA, shop.orderId, shop.position)).status).toBe(500);
    await withoutPrevious.stop();

    const rotating = await start({ dataDir: first.dataDir, env: { PAYER_KEY: k2, PAYER_KEY_PREVIOUS: `${randomBytes(32).toString('base64')},${k1}` } });
    expect((await order(rotating, shop.customerA, shop.orderId, shop.position)).body.payer).toEqual(PAYER);
    const rewrap = await rotating.http().post('/admin/payment-data/rewrap-keys').set(bearer(shop.admin));
    expect(rewrap.status).toBe(200);
    expect(rewrap.body).toMatchObject({ rewrapped: 1, unreadable: 0 });
    expect((await rotating.http().post('/admin/payment-data/rewrap-keys').set(bearer(shop.admin))).body).toMatchObject({ rewrapped: 0, alreadyCurrent: 1 });
    await rotating.stop();

    const rotated = await start({ dataDir: first.dataDir, env: { PAYER_KEY: k2 } });
    expect((await order(rotated, shop.customerA, shop.orderId, shop.position)).body.payer).toEqual(PAYER);
  });
});
