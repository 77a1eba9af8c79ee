import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkLog } from '../../src/operations/invariants';
import { verify } from '../../src/operations/verify';
import { REDIS_URL, startTestApp, TestApp, bearer } from '../support/app';
import { as, httpSpec } from '../support/http-spec';

interface Shop {
  t: TestApp;
  admin: string;
}

async function product(shop: Shop, name: string, price: number, stock: number): Promise<string> {
  const res = await shop.t.http().post('/admin/products').set(bearer(shop.admin)).send({ name, price, stock });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function coupon(shop: Shop, body: Record<string, unknown>): Promise<string> {
  const res = await shop.t.http().post('/admin/coupons').set(bearer(shop.admin)).send({ name: 'Coupon', totalQuantity: 1000, ...body });
  expect(res.status).toBe(201);
  return res.body.couponId;
}

async function customer(shop: Shop, userId: string, points: number) {
  const token = await shop.t.tokenFor(userId);
  if (points > 0) expect((await shop.t.http().post('/me/points/charge').set(bearer(token)).send({ amount: points })).status).toBe(200);
  return token;
}

async function issue(shop: Shop, token: string, couponId: string): Promise<string> {
  const res = await shop.t.http().post(`/coupons/${couponId}/issue`).set(bearer(token));
  expect(res.status).toBe(201);
  return res.body.userCouponId;
}

const stockOf = async (shop: Shop, productId: string) => {
  const events = await shop.t.app.services.events.readStream(`product-${productId}`);
  return (events.at(-1)!.data as { stockAfter?: number; stock?: number }).stockAfter ?? (events.at(-1)!.data as { stock: number }).stock;
};
const balanceOf = async (shop: Shop, userId: string) => {
  const events = await shop.t.app.services.events.readStream(`wallet-${userId}`);
  return events.reduce((sum, e) => sum + (e.type === 'PointsUsed' ? -1 : 1) * (e.data as { amount: number }).amount, 0);
};

describe.each([
  ['embedded', {}],
  ['with Redis', { REDIS_URL }],
])('orders and payment (%s)', (_name, env) => {
  const shop = {} as Shop;
  beforeAll(async () => {
    shop.t = await startTestApp({ env });
    shop.admin = await shop.t.tokenFor('admin-1', 'admin');
  });
  afterAll(async () => shop.t.close());

  it('places, pays and cancels with three products and a coupon; every balance, stock and coupon state adds up', async () => {
    const [p1, p2, p3] = [await product(shop, 'Keyboard', 30_000, 5), await product(shop, 'Mouse', 12_000, 5), await product(shop, 'Pad', 5_000, 5)];
    const percent = await coupon(shop, { discount: { type: 'PERCENT', percent: 10, maxDiscount: 6_000 }, minOrderAmount: 50_000 });
    const token = await customer(shop, 'buyer', 100_000);
    const userCouponId = await issue(shop, token, percent);

    const buyer = as('buyer');
    const spec = () => httpSpec(shop.t).given();
    // Placing writes the order alone: stock, points and coupon are taken by the payment.
    const placed = await spec()
      .when(buyer.post('/orders', { items: [{ productId: p1, quantity: 1 }, { productId: p2, quantity: 2 }, { productId: p3, quantity: 3 }], userCouponId }))
      .then(201, {}, [{ type: 'OrderPlaced', data: { userId: 'buyer', subtotal: 69_000, discount: 6_000, total: 63_000 } }]);
    const orderId = placed.body.orderId as string;
    const orderStream = `order-${orderId}`;
    // subtotal 30,000 + 24,000 + 15,000 = 69,000; 10% = 6,900 capped at 6,000.
    expect(placed.body).toMatchObject({ status: 'PENDING', subtotal: 69_000, discount: 6_000, total: 63_000 });
    expect(placed.body.items).toEqual([
      { productId: p1, name: 'Keyboard', unitPrice: 30_000, quantity: 1, amount: 30_000 },
      { productId: p2, name: 'Mouse', unitPrice: 12_000, quantity: 2, amount: 24_000 },
      { productId: p3, name: 'Pad', unitPrice: 5_000, quantity: 3, amount: 15_000 },
    ]);
    // Placing takes nothing.
    expect(await stockOf(shop, p1)).toBe(5);
    expect(await balanceOf(shop, 'buyer')).toBe(100_000);

    // Paying is one atomic write over the order, every product, the user coupon and the wallet.
    const paid = await spec()
      .when(buyer.post(`/orders/${orderId}/payment`, { payer: { name: 'Kim Minji', phone: '010-2222-3333', email: 'minji@example.com' } }))
      .then(200, { status: 'PAID', total: 63_000, paidAt: expect.any(String) }, [
        { type: 'OrderPaid', stream: orderStream, data: { orderId, userId: 'buyer', total: 63_000 } },
        { type: 'StockDecreased', stream: `product-${p1}`, data: { orderId, quantity: 1, stockAfter: 4 } },
        { type: 'StockDecreased', stream: `product-${p2}`, data: { orderId, quantity: 2, stockAfter: 3 } },
        { type: 'StockDecreased', stream: `product-${p3}`, data: { orderId, quantity: 3, stockAfter: 2 } },
        { type: 'CouponUsed', stream: `usercoupon-${userCouponId}`, data: { userCouponId, userId: 'buyer', orderId } },
        { type: 'PointsUsed', stream: 'wallet-buyer', data: { amount: 63_000 } },
      ]);
    expect([await stockOf(shop, p1), await stockOf(shop, p2), await stockOf(shop, p3)]).toEqual([4, 3, 2]);
    expect(await balanceOf(shop, 'buyer')).toBe(37_000);

    const consistent = { 'X-Consistent-With': paid.body.position };
    const coupons = await shop.t.http().get('/me/coupons').set(bearer(token)).set(consistent);
    expect(coupons.body.items.find((c: { userCouponId: string }) => c.userCouponId === userCouponId)).toMatchObject({ used: true, orderId: placed.body.orderId });
    const history = await shop.t.http().get('/me/points/history').set(bearer(token)).set(consistent);
    expect(history.body.items[0]).toMatchObject({ type: 'USE', amount: 63_000, balanceAfter: 37_000, orderId: placed.body.orderId });
    const mine = await shop.t.http().get(`/me/orders/${placed.body.orderId}`).set(bearer(token)).set(consistent);
    expect(mine.body).toMatchObject({ status: 'PAID', payer: { name: 'Kim Minji', phone: '010-2222-3333', email: 'minji@example.com' } });
    expect(mine.body.statusHistory.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'PAID']);

    await spec().when(buyer.post(`/orders/${orderId}/payment`, {})).thenRefused(409, 'ORDER_NOT_PAYABLE');

    // Cancelling a paid order gives back, in the same write, all that paying took.
    const cancelled = await spec()
      .when(buyer.post(`/orders/${orderId}/cancel`))
      .then(200, { status: 'CANCELLED' }, [
        { type: 'OrderCancelled', stream: orderStream, data: { orderId, refunded: true } },
        { type: 'StockRestored', stream: `product-${p1}`, data: { orderId, quantity: 1, stockAfter: 5 } },
        { type: 'StockRestored', stream: `product-${p2}`, data: { orderId, quantity: 2, stockAfter: 5 } },
        { type: 'StockRestored', stream: `product-${p3}`, data: { orderId, quantity: 3, stockAfter: 5 } },
        { type: 'CouponRestored', stream: `usercoupon-${userCouponId}`, data: { userCouponId, orderId } },
        { type: 'PointsRefunded', stream: 'wallet-buyer', data: { amount: 63_000 } },
      ]);
    expect([await stockOf(shop, p1), await stockOf(shop, p2), await stockOf(shop, p3)]).toEqual([5, 5, 5]);
    expect(await balanceOf(shop, 'buyer')).toBe(100_000);
    const afterCancel = await shop.t.http().get('/me/coupons').query({ status: 'AVAILABLE' }).set(bearer(token)).set({ 'X-Consistent-With': cancelled.body.position });
    expect(afterCancel.body.items.map((c: { userCouponId: string }) => c.userCouponId)).toContain(userCouponId);
    await spec().when(buyer.post(`/orders/${orderId}/cancel`)).thenRefused(409, 'ORDER_NOT_CANCELLABLE');
  });

  it('keeps payer data sealed on disk and hides other users’ orders', async () => {
    const p = await product(shop, 'Secret', 100, 10);
    const token = await customer(shop, 'private', 1000);
    const res = await shop.t
      .http()
      .post('/checkout')
      .set(bearer(token))
      .send({ items: [{ productId: p, quantity: 1 }], payer: { name: 'Lee Secret', phone: '010-9876-5432', email: 'secret.payer@example.com' } });
    expect(res.status).toBe(201);
    const files = readdirSync(shop.t.dataDir).filter((f) => f.endsWith('.db') || f.endsWith('-wal'));
    for (const file of files) {
      const raw = readFileSync(join(shop.t.dataDir, file)).toString('latin1');
      expect(raw).not.toContain('010-9876-5432');
      expect(raw).not.toContain('secret.payer@example.com');
    }
    const other = await customer(shop, 'nosy', 0);
    const peek = await shop.t.http().get(`/me/orders/${res.body.orderId}`).set(bearer(other)).set({ 'X-Consistent-With': res.body.position });
    expect(peek.status).toBe(404);
    expect(peek.body.code).toBe('ORDER_NOT_FOUND');
    expect((await shop.t.http().post(`/orders/${res.body.orderId}/cancel`).set(bearer(other))).status).toBe(404);
  });

  it('refuses what does not check out and changes nothing', async () => {
    const p = await product(shop, 'Rare', 1000, 1);
    const token = await customer(shop, 'refused', 1500);
    const checkout = (body: object) => httpSpec(shop.t).given().when(as('refused').post('/checkout', body));
    await checkout({ items: [{ productId: 'nope', quantity: 1 }] }).thenRefused(404, 'PRODUCT_NOT_FOUND');
    await checkout({ items: [{ productId: p, quantity: 2 }] }).thenRefused(409, 'OUT_OF_STOCK');
    await checkout({ items: [{ productId: p, quantity: 1 }, { productId: p, quantity: 1 }] }).thenRefused(400, 'VALIDATION_FAILED');
    await checkout({ items: [] }).thenRefused(400, 'VALIDATION_FAILED');
    await checkout({ items: [{ productId: p, quantity: 1001 }] }).thenRefused(400, 'VALIDATION_FAILED');
    await checkout({ items: [{ productId: p, quantity: 1 }], userCouponId: 'x:refused' }).thenRefused(409, 'COUPON_NOT_APPLICABLE');
    const pricey = await product(shop, 'Pricey', 2000, 5);
    await checkout({ items: [{ productId: pricey, quantity: 1 }] }).thenRefused(409, 'POINTS_INSUFFICIENT');
    const minimum = await coupon(shop, { discount: { type: 'FIXED', amount: 100 }, minOrderAmount: 5000 });
    const userCouponId = await issue(shop, token, minimum);
    await checkout({ items: [{ productId: p, quantity: 1 }], userCouponId }).thenRefused(409, 'COUPON_NOT_APPLICABLE', { reason: 'BELOW_MINIMUM' });
    expect(await stockOf(shop, p)).toBe(1);
    expect(await balanceOf(shop, 'refused')).toBe(1500);
  });

  it('a failed payment changes no stock, points or coupon and leaves the order payable', async () => {
    const p = await product(shop, 'Contested', 1000, 1);
    const fixed = await coupon(shop, { discount: { type: 'FIXED', amount: 100 } });
    const first = await customer(shop, 'slow-payer', 5000);
    const userCouponId = await issue(shop, first, fixed);
    const order = await shop.t.http().post('/orders').set(bearer(first)).send({ items: [{ productId: p, quantity: 1 }], userCouponId });
    expect(order.status).toBe(201);
    const rival = await customer(shop, 'fast-payer', 5000);
    expect((await shop.t.http().post('/checkout').set(bearer(rival)).send({ items: [{ productId: p, quantity: 1 }] })).status).toBe(201);

    const failed = await shop.t.http().post(`/orders/${order.body.orderId}/payment`).set(bearer(first)).send({});
    expect(failed.status).toBe(409);
    expect(failed.body.code).toBe('OUT_OF_STOCK');
    expect(await balanceOf(shop, 'slow-payer')).toBe(5000);
    expect(await shop.t.app.services.events.readStream(`usercoupon-${userCouponId}`)).toEqual([]);
    const view = await shop.t.http().get(`/me/orders/${order.body.orderId}`).set(bearer(first)).set({ 'X-Consistent-With': failed.body.position ?? (await shop.t.app.services.events.headPosition())! });
    expect(view.body.status).toBe('PENDING');
    expect(view.body.statusHistory.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'PAYMENT_FAILED']);

    await shop.t.http().post('/admin/products/' + p + '/restock').set(bearer(shop.admin)).send({ quantity: 1 });
    expect((await shop.t.http().post(`/orders/${order.body.orderId}/payment`).set(bearer(first)).send({})).status).toBe(200);
  });

  it('200 users paying for one unit each of a product with stock 10: exactly 10 paid', async () => {
    const p = await product(shop, 'Limited', 100, 10);
    const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => customer(shop, `rush-${i}`, 1000)));
    const responses = await Promise.all(tokens.map((token) => shop.t.http().post('/checkout').set(bearer(token)).send({ items: [{ productId: p, quantity: 1 }] })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(responses.filter((r) => r.status !== 201).map((r) => r.body.code)).toEqual(Array(190).fill('OUT_OF_STOCK'));
    expect(await stockOf(shop, p)).toBe(0);
    const balances = await Promise.all(tokens.map((_, i) => balanceOf(shop, `rush-${i}`)));
    expect(balances.filter((b) => b === 900)).toHaveLength(10);
    expect(balances.filter((b) => b === 1000)).toHaveLength(190);
  });

  it('200 buyers with coupons of one campaign check out at once: all paid, and not one checkout writes to the campaign stream', async () => {
    const basket = [await product(shop, 'Welcome A', 1000, 100_000), await product(shop, 'Welcome B', 2000, 100_000), await product(shop, 'Welcome C', 3000, 100_000)];
    const campaign = await coupon(shop, { discount: { type: 'FIXED', amount: 500 } });
    const buyers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const token = await customer(shop, `welcome-${i}`, 10_000);
        return { token, userCouponId: await issue(shop, token, campaign) };
      }),
    );
    const { events } = shop.t.app.services;
    const campaignBefore = (await events.readStream(`coupon-${campaign}`)).map((e) => e.type);
    expect(campaignBefore).toEqual(['CouponCreated', ...Array(200).fill('CouponIssued')]);

    const items = basket.map((productId) => ({ productId, quantity: 1 }));
    const responses = await Promise.all(buyers.map(({ token, userCouponId }) => shop.t.http().post('/checkout').set(bearer(token)).send({ items, userCouponId })));
    expect(responses.map((r) => [r.status, r.body.status, r.body.total])).toEqual(Array(200).fill([201, 'PAID', 5500]));

    // A checkout reads the campaign (terms, issue) and records the use on the holder's own stream,
    // so checkouts of one campaign never queue or conflict on it.
    expect((await events.readStream(`coupon-${campaign}`)).map((e) => e.type)).toEqual(campaignBefore);
    const uses = await Promise.all(buyers.map(async ({ userCouponId }) => (await events.readStream(`usercoupon-${userCouponId}`)).map((e) => `${e.type} ${e.data.orderId}`)));
    expect(uses).toEqual(responses.map((r) => [`CouponUsed ${r.body.orderId}`]));
    expect(await Promise.all(basket.map((p) => stockOf(shop, p)))).toEqual([99_800, 99_800, 99_800]);
  });

  it('racing pay and cancel on one order 50 times: one wins, or they ran one after the other', async () => {
    const p = await product(shop, 'Racy', 10, 1000);
    const token = await customer(shop, 'racer', 100_000);
    for (let round = 0; round < 50; round += 1) {
      const order = await shop.t.http().post('/orders').set(bearer(token)).send({ items: [{ productId: p, quantity: 1 }] });
      const [pay, cancel] = await Promise.all([
        shop.t.http().post(`/orders/${order.body.orderId}/payment`).set(bearer(token)).send({}),
        shop.t.http().post(`/orders/${order.body.orderId}/cancel`).set(bearer(token)),
      ]);
      const events = (await shop.t.app.services.events.readStream(`order-${order.body.orderId}`)).map((e) => e.type);
      const cancelEvent = (await shop.t.app.services.events.readStream(`order-${order.body.orderId}`)).find((e) => e.type === 'OrderCancelled');
      if (pay.status === 200 && cancel.status === 200) {
        // Not a race: the cancellation arrived after the payment had landed, saw it paid, and refunded it.
        expect(events).toEqual(['OrderPlaced', 'OrderPaid', 'OrderCancelled']);
        expect(cancelEvent!.data).toMatchObject({ refunded: true });
      } else if (pay.status === 200) {
        expect(cancel.body.code).toBe('ORDER_NOT_CANCELLABLE');
        expect(events).toEqual(['OrderPlaced', 'OrderPaid']);
      } else {
        expect(pay.body.code).toBe('ORDER_NOT_PAYABLE');
        expect(cancel.status).toBe(200);
        expect(events).toEqual(['OrderPlaced', 'OrderCancelled']);
        expect(cancelEvent!.data).toMatchObject({ refunded: false });
      }
    }
    const wallet = await shop.t.app.services.events.readStream('wallet-racer');
    const used = wallet.filter((e) => e.type === 'PointsUsed').length;
    const orders = await shop.t.app.services.events.readAll(null, 100_000);
    const paid = orders.filter((e) => e.type === 'OrderPaid' && (e.data as { userId: string }).userId === 'racer').length;
    expect(used).toBe(paid);
    const refunded = wallet.filter((e) => e.type === 'PointsRefunded').length;
    const refundedOrders = orders.filter((e) => e.type === 'OrderCancelled' && (e.data as { userId: string; refunded: boolean }).userId === 'racer' && (e.data as { refunded: boolean }).refunded).length;
    expect(refunded).toBe(refundedOrders);
    expect(await balanceOf(shop, 'racer')).toBe(100_000 - 10 * (used - refunded));
  });

  it('one user paying two orders whose total exceeds the balance at once: exactly one succeeds', async () => {
    const p = await product(shop, 'Twin', 700, 10);
    const token = await customer(shop, 'twin', 1000);
    const [a, b] = await Promise.all([1, 2].map(() => shop.t.http().post('/orders').set(bearer(token)).send({ items: [{ productId: p, quantity: 1 }] })));
    const [payA, payB] = await Promise.all([a, b].map((o) => shop.t.http().post(`/orders/${o.body.orderId}/payment`).set(bearer(token)).send({})));
    expect([payA.status, payB.status].sort()).toEqual([200, 409]);
    expect([payA, payB].find((r) => r.status === 409)!.body.code).toBe('POINTS_INSUFFICIENT');
    expect(await balanceOf(shop, 'twin')).toBe(300);
  });

  it('a retried checkout with the same Idempotency-Key pays once', async () => {
    const p = await product(shop, 'Once', 100, 10);
    const token = await customer(shop, 'retry', 1000);
    const send = () => shop.t.http().post('/checkout').set(bearer(token)).set('Idempotency-Key', 'checkout-1').send({ items: [{ productId: p, quantity: 1 }] });
    const first = await send();
    const second = await send();
    expect(first.status).toBe(201);
    expect(second.body.orderId).toBe(first.body.orderId);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(await balanceOf(shop, 'retry')).toBe(900);
    expect(await stockOf(shop, p)).toBe(9);
  });

  it('lists my orders newest first, filtered by status, product and date', async () => {
    const [x, y] = [await product(shop, 'X', 10, 100), await product(shop, 'Y', 10, 100)];
    const token = await customer(shop, 'lister', 10_000);
    const pending = await shop.t.http().post('/orders').set(bearer(token)).send({ items: [{ productId: x, quantity: 1 }] });
    const paidX = await shop.t.http().post('/checkout').set(bearer(token)).send({ items: [{ productId: x, quantity: 1 }] });
    const paidY = await shop.t.http().post('/checkout').set(bearer(token)).send({ items: [{ productId: y, quantity: 1 }, { productId: x, quantity: 2 }] });
    const at = { 'X-Consistent-With': paidY.body.position };
    const list = async (query: Record<string, string | number>) =>
      (await shop.t.http().get('/me/orders').query(query).set(bearer(token)).set(at)).body.items.map((o: { orderId: string }) => o.orderId);
    expect(await list({})).toEqual([paidY.body.orderId, paidX.body.orderId, pending.body.orderId]);
    expect(await list({ status: 'PAID' })).toEqual([paidY.body.orderId, paidX.body.orderId]);
    expect(await list({ productId: y })).toEqual([paidY.body.orderId]);
    expect(await list({ productId: x, status: 'PENDING' })).toEqual([pending.body.orderId]);
    expect(await list({ from: paidX.body.createdAt })).toEqual([paidY.body.orderId, paidX.body.orderId]);
    expect(await list({ to: paidX.body.createdAt })).toEqual([pending.body.orderId]);
    const page1 = await shop.t.http().get('/me/orders').query({ limit: 2 }).set(bearer(token)).set(at);
    const page2 = await shop.t.http().get('/me/orders').query({ limit: 2, cursor: page1.body.nextCursor }).set(bearer(token)).set(at);
    expect([...page1.body.items, ...page2.body.items].map((o: { orderId: string }) => o.orderId)).toEqual(await list({}));
    expect((await shop.t.http().get('/me/orders').query({ status: 'LOST' }).set(bearer(token))).status).toBe(400);
  });
});

/** The log's own verdict on every coupon use, stock and point movement so far. */
const logProblems = async (t: TestApp) => (await checkLog(t.app.services.events, { balanceCap: t.app.services.config.POINTS_BALANCE_CAP })).problems;

const holderEvents = async (t: TestApp, userCouponId: string) =>
  (await t.app.services.events.readStream(`usercoupon-${userCouponId}`)).map((e) => `${e.type} ${e.data.orderId}`);

describe('one user coupon on two instances of one store: each locks in its own process, so only the expected revision guards it', () => {
  const shop = {} as Shop;
  let other: TestApp;
  let campaign: string;
  let p: string;
  beforeAll(async () => {
    shop.t = await startTestApp();
    other = await startTestApp({ dataDir: shop.t.dataDir, env: { RUN_PROJECTIONS: 'false' } });
    shop.admin = await shop.t.tokenFor('admin-2', 'admin');
    campaign = await coupon(shop, { discount: { type: 'FIXED', amount: 100 } });
    p = await product(shop, 'Twice', 1000, 100_000);
  });
  afterAll(async () => {
    await other.stop();
    await shop.t.close();
  });

  /** A new buyer with points and a coupon of the campaign. */
  const buyer = async (userId: string) => {
    const token = await customer(shop, userId, 10_000);
    return { token, userCouponId: await issue(shop, token, campaign) };
  };

  it('two checkouts with one user coupon at once, 20 times: one is paid with it, the other is refused as USED', async () => {
    for (let round = 0; round < 20; round += 1) {
      const { token, userCouponId } = await buyer(`double-${round}`);
      const body = { items: [{ productId: p, quantity: 1 }], userCouponId };
      const answers = await Promise.all([shop.t, other].map((t) => t.http().post('/checkout').set(bearer(token)).send(body)));
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(answers.find((r) => r.status === 409)!.body).toMatchObject({ code: 'COUPON_NOT_APPLICABLE', reason: 'USED' });
      expect(await holderEvents(shop.t, userCouponId)).toEqual([`CouponUsed ${answers.find((r) => r.status === 201)!.body.orderId}`]);
      expect(await balanceOf(shop, `double-${round}`)).toBe(10_000 - 900);
    }
    expect(await logProblems(shop.t)).toEqual([]);
  });

  it('paying and cancelling an order with a coupon at once, 20 times: the coupon is used exactly while the order is paid', async () => {
    for (let round = 0; round < 20; round += 1) {
      const { token, userCouponId } = await buyer(`pay-or-cancel-${round}`);
      const order = await shop.t.http().post('/orders').set(bearer(token)).send({ items: [{ productId: p, quantity: 1 }], userCouponId });
      const { orderId } = order.body;
      const [pay, cancel] = await Promise.all([
        shop.t.http().post(`/orders/${orderId}/payment`).set(bearer(token)).send({}),
        other.http().post(`/orders/${orderId}/cancel`).set(bearer(token)),
      ]);
      const uses = await holderEvents(shop.t, userCouponId);
      if (pay.status === 200 && cancel.status === 200) expect(uses).toEqual([`CouponUsed ${orderId}`, `CouponRestored ${orderId}`]);
      else if (pay.status === 200) expect([cancel.body.code, uses]).toEqual(['ORDER_NOT_CANCELLABLE', [`CouponUsed ${orderId}`]]);
      else expect([pay.body.code, cancel.status, uses]).toEqual(['ORDER_NOT_PAYABLE', 200, []]);
    }
    expect(await logProblems(shop.t)).toEqual([]);
  });
});

/**
 * Before user coupons had streams of their own, paying wrote CouponUsed to the campaign stream.
 * Such a log keeps its meaning: the coupon stays used until that order gives it back.
 */
describe('a coupon used before the upgrade, in the campaign stream', () => {
  const shop = {} as Shop;
  beforeAll(async () => {
    shop.t = await startTestApp();
    shop.admin = await shop.t.tokenFor('admin-3', 'admin');
  });
  afterAll(async () => shop.t.close());

  /** What the version before wrote for a checkout: one atomic write, the use on the campaign stream. */
  async function paidBeforeTheUpgrade(userId: string, productId: string, couponId: string, userCouponId: string): Promise<string> {
    const orderId = randomUUID();
    const at = new Date().toISOString();
    const expiresAt = new Date(Date.now() + 30 * 60_000).toISOString();
    const write = (stream: string, ...events: Array<[type: string, data: Record<string, unknown>]>) => ({
      stream,
      expectedRevision: 'any' as const,
      events: events.map(([type, data]) => ({ id: randomUUID(), type, data: { ...data, occurredAt: at }, metadata: {} })),
    });
    const lines = [{ kind: 'PRODUCT', productId, name: 'Legacy', unitPrice: 1000, quantity: 2, amount: 2000 }];
    await shop.t.app.services.events.append([
      write(
        `order-${orderId}`,
        ['OrderPlaced', { orderId, userId, orderType: 'NORMAL', lines, coupon: { userCouponId, couponId, discount: 300 }, subtotal: 2000, discount: 300, total: 1700, expiresAt }],
        ['OrderPaid', { orderId, userId, total: 1700, payer: null }],
      ),
      write(`product-${productId}`, ['StockDecreased', { productId, orderId, quantity: 2, stockAfter: 8 }]),
      write(`coupon-${couponId}`, ['CouponUsed', { couponId, userCouponId, userId, orderId }]),
      write(`wallet-${userId}`, ['PointsUsed', { userId, orderId, amount: 1700, balanceAfter: 3300 }]),
    ]);
    return orderId;
  }

  it('stays used until its order is cancelled after the upgrade, which gives it back on its own stream; then it is used again', async () => {
    const productId = await product(shop, 'Legacy', 1000, 10);
    const couponId = await coupon(shop, { discount: { type: 'FIXED', amount: 300 } });
    const token = await customer(shop, 'early-bird', 5000);
    const userCouponId = await issue(shop, token, couponId);
    const oldOrder = await paidBeforeTheUpgrade('early-bird', productId, couponId, userCouponId);
    const buyer = as('early-bird');
    const spec = () => httpSpec(shop.t).given();
    const checkout = buyer.post('/checkout', { items: [{ productId, quantity: 2 }], userCouponId });

    await spec().when(checkout).thenRefused(409, 'COUPON_NOT_APPLICABLE', { reason: 'USED' });
    await spec()
      .when(buyer.post(`/orders/${oldOrder}/cancel`))
      .then(200, { status: 'CANCELLED' }, [
        { type: 'OrderCancelled', stream: `order-${oldOrder}`, data: { refunded: true } },
        { type: 'StockRestored', stream: `product-${productId}`, data: { orderId: oldOrder, quantity: 2, stockAfter: 10 } },
        { type: 'CouponRestored', stream: `usercoupon-${userCouponId}`, data: { userCouponId, orderId: oldOrder } },
        { type: 'PointsRefunded', stream: 'wallet-early-bird', data: { orderId: oldOrder, amount: 1700, balanceAfter: 5000 } },
      ]);
    const paid = await spec()
      .when(checkout)
      .then(201, { status: 'PAID', discount: 300, total: 1700 }, [
        { type: 'StockDecreased', stream: `product-${productId}`, data: { quantity: 2, stockAfter: 8 } },
        { type: 'CouponUsed', stream: `usercoupon-${userCouponId}`, data: { userCouponId } },
        { type: 'OrderPlaced' },
        { type: 'OrderPaid' },
        { type: 'PointsUsed', stream: 'wallet-early-bird', data: { amount: 1700, balanceAfter: 3300 } },
      ]);
    await spec().when(checkout).thenRefused(409, 'COUPON_NOT_APPLICABLE', { reason: 'USED' });

    expect((await shop.t.app.services.events.readStream(`coupon-${couponId}`)).map((e) => e.type)).toEqual(['CouponCreated', 'CouponIssued', 'CouponUsed']);
    const mine = await shop.t.http().get('/me/coupons').set(bearer(token)).set({ 'X-Consistent-With': paid.body.position });
    expect(mine.body.items).toEqual([expect.objectContaining({ userCouponId, used: true, orderId: paid.body.orderId, status: 'USED' })]);
    await shop.t.app.projector.catchUp();
    const report = await verify(shop.t.app.services);
    expect([report.log.problems, report.readModels.flatMap((r) => r.differences)]).toEqual([[], []]);
  });
});

describe('unpaid orders expire (ORDER_PAYMENT_TTL_MINUTES)', () => {
  let current = new Date('2026-12-04T10:00:00.000Z');
  let shop: Shop;
  beforeAll(async () => {
    const t = await startTestApp({ env: { ORDER_PAYMENT_TTL_MINUTES: '30' }, overrides: { clock: { now: () => current } } });
    shop = { t, admin: await t.tokenFor('expiry-admin', 'admin') };
  });
  afterAll(async () => shop.t.close());

  it('refuses to pay an order placed at an old price once it expired, changing nothing; shows it EXPIRED; still cancels it', async () => {
    const { t } = shop;
    const productId = await product(shop, 'Repriced', 100, 10);
    const token = await customer(shop, 'late-payer', 20_000);
    const order = await t.http().post('/orders').set(bearer(token)).send({ items: [{ productId, quantity: 2 }] });
    expect([order.status, order.body.status, order.body.expiresAt]).toEqual([201, 'PENDING', '2026-12-04T10:30:00.000Z']);
    expect((await t.http().patch(`/admin/products/${productId}`).set(bearer(shop.admin)).send({ price: 9_000 })).status).toBe(200);
    const head = await t.app.services.events.headPosition();

    current = new Date('2026-12-04T10:30:00.000Z');
    const late = await t.http().post(`/orders/${order.body.orderId}/payment`).set(bearer(token)).send({});
    expect([late.status, late.body.code, late.body.expiresAt]).toEqual([409, 'ORDER_EXPIRED', '2026-12-04T10:30:00.000Z']);
    expect(await t.app.services.events.headPosition()).toBe(head);
    expect(await balanceOf(shop, 'late-payer')).toBe(20_000);
    expect((await t.app.services.events.readStream(`order-${order.body.orderId}`)).map((e) => e.type)).toEqual(['OrderPlaced']);

    const at = { 'X-Consistent-With': head! };
    const detail = await t.http().get(`/me/orders/${order.body.orderId}`).set(bearer(token)).set(at);
    expect([detail.body.status, detail.body.expiresAt]).toEqual(['EXPIRED', '2026-12-04T10:30:00.000Z']);
    const listed = async (query: Record<string, string>) =>
      (await t.http().get('/me/orders').query(query).set(bearer(token)).set(at)).body.items.map((o: { orderId: string; status: string }) => `${o.orderId}:${o.status}`);
    expect(await listed({})).toEqual([`${order.body.orderId}:EXPIRED`]);
    expect(await listed({ status: 'EXPIRED' })).toEqual([`${order.body.orderId}:EXPIRED`]);
    expect(await listed({ status: 'PENDING' })).toEqual([]);
    expect(await listed({ status: 'EXPIRED', productId })).toEqual([`${order.body.orderId}:EXPIRED`]);

    const again = await t.http().post('/orders').set(bearer(token)).send({ items: [{ productId, quantity: 2 }] });
    expect([again.body.status, again.body.total]).toEqual(['PENDING', 18_000]);
    expect((await t.http().post(`/orders/${again.body.orderId}/payment`).set(bearer(token)).send({})).status).toBe(200);

    const cancelled = await t.http().post(`/orders/${order.body.orderId}/cancel`).set(bearer(token));
    expect([cancelled.status, cancelled.body.status]).toEqual([200, 'CANCELLED']);
  });
});
