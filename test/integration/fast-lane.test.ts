import { createServer, IncomingMessage, request as rawRequest, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request, { Response, Test } from 'supertest';
import { bearer, startTestApp, TestApp } from '../support/app';

/**
 * The fast lane answers plain API requests without Express. Each case here is sent to a server
 * that runs the fast lane first (recording whether it took the request) and to Express alone,
 * and the two answers must be the same: status, headers and body.
 */
describe('the fast lane', () => {
  let t: TestApp;
  let laned: Server;
  let lanedUrl: string;
  const taken: boolean[] = [];
  let customer: string;
  let admin: string;
  let productId: string;
  let soldOutCoupon: string;

  beforeAll(async () => {
    t = await startTestApp();
    laned = createServer((req, res) => {
      const took = t.app.fastLane(req, res);
      taken.push(took);
      if (!took) t.app.express(req, res);
    });
    await new Promise<void>((resolve) => laned.listen(0, '127.0.0.1', resolve));
    lanedUrl = `http://127.0.0.1:${(laned.address() as AddressInfo).port}`;
    customer = await t.tokenFor('lane-customer');
    admin = await t.tokenFor('lane-admin', 'admin');
    const product = await t.http().post('/admin/products').set(bearer(admin)).send({ name: 'Lane cup', price: 1_200, stock: 5 });
    productId = product.body.id;
    const coupon = await t
      .http()
      .post('/admin/coupons')
      .set(bearer(admin))
      .send({ name: 'One only', discount: { type: 'FIXED', amount: 100 }, totalQuantity: 1 });
    soldOutCoupon = coupon.body.couponId;
    expect((await t.http().post(`/coupons/${soldOutCoupon}/issue`).set(bearer(await t.tokenFor('first-comer')))).status).toBe(201);
    // Read-your-writes once, so that the reads below find the product and the coupon projected.
    expect((await t.http().get(`/products/${productId}`).set('X-Consistent-With', coupon.body.position)).status).toBe(200);
  });
  afterAll(async () => {
    await new Promise((resolve) => laned.close(resolve));
    await t.close();
  });

  /** What must match: everything but the Date header. */
  const answer = (res: Response) => {
    const { date: _date, ...headers } = res.headers;
    return { status: res.status, headers, body: res.body };
  };

  async function bothWays(send: (agent: ReturnType<typeof request>) => Test): Promise<{ lane: Response; took: boolean }> {
    taken.length = 0;
    const lane = await send(request(lanedUrl));
    const took = taken[0];
    const express = await send(request(t.app.express));
    expect(answer(lane)).toEqual(answer(express));
    return { lane, took };
  }

  const plain: Array<[string, (agent: ReturnType<typeof request>) => Test, number]> = [
    ['a product (loaded)', (a) => a.get(`/products/${productId}`), 200],
    ['a product (from memory)', (a) => a.get(`/products/${productId}`), 200],
    ['a page of the catalogue', (a) => a.get('/products?limit=1'), 200],
    ['the popular products', (a) => a.get('/products/popular?days=3'), 200],
    ['no such product', (a) => a.get('/products/no-such-product'), 404],
    ['a limit out of range', (a) => a.get('/products?limit=0'), 400],
    ['a query field no route takes', (a) => a.get(`/products/${productId}?colour=red`), 400],
    ['no token', (a) => a.post('/me/points/charge').send({ amount: 1 }), 401],
    ['a forged token', (a) => a.get('/me/points').set(bearer('not.a.token')), 401],
    ['a customer on an admin route', (a) => a.post('/admin/products').set(bearer(customer)).send({ name: 'x', price: 1, stock: 1 }), 403],
    ['a balance', (a) => a.get('/me/points').set(bearer(customer)), 200],
    ['an amount out of range', (a) => a.post('/me/points/charge').set(bearer(customer)).send({ amount: -5 }), 400],
    ['a field the body does not take', (a) => a.post('/me/points/charge').set(bearer(customer)).send({ amount: 5, bonus: 1 }), 400],
    ['malformed JSON', (a) => a.post('/me/points/charge').set(bearer(customer)).type('json').send('{"amount":'), 400],
    ['JSON that is not an object', (a) => a.post('/me/points/charge').set(bearer(customer)).type('json').send('5'), 400],
    ['no body where one is needed', (a) => a.post('/me/points/charge').set(bearer(customer)), 400],
    ['a sold-out coupon', (a) => a.post(`/coupons/${soldOutCoupon}/issue`).set(bearer(customer)), 409],
    ['an Idempotency-Key that is too long', (a) => a.post('/me/points/charge').set(bearer(customer)).set('Idempotency-Key', 'k'.repeat(300)).send({ amount: 1 }), 400],
  ];

  it.each(plain)('takes %s and answers what Express answers', async (_name, send, status) => {
    const { lane, took } = await bothWays(send);
    expect(lane.status).toBe(status);
    expect(took).toBe(true);
  });

  const leftToExpress: Array<[string, (agent: ReturnType<typeof request>) => Test, number]> = [
    ['a conditional GET', (a) => a.get(`/products/${productId}`).set('If-None-Match', 'W/"nothing"'), 200],
    ['a percent-encoded path', (a) => a.get(`/products/${encodeURIComponent(productId)}%2F`), 404],
    ['a trailing slash', (a) => a.get(`/products/${productId}/`), 200],
    ['a path in other case', (a) => a.get(`/PRODUCTS/${productId}`), 200],
    ['HEAD', (a) => a.head(`/products/${productId}`), 200],
    ['a body in another media type', (a) => a.post('/me/points/charge').set(bearer(customer)).type('text').send('amount=5'), 400],
    ['an unknown route', (a) => a.get('/no/such/route'), 404],
    ['the wrong method', (a) => a.delete(`/products/${productId}`), 404],
    ['an operations route', (a) => a.get('/health'), 200],
    ['a malformed percent escape', (a) => a.get('/products/%ZZ'), 400],
    ['a body that is not the gzip it says', (a) => a.post('/me/points/charge').set(bearer(customer)).type('json').set('Content-Encoding', 'gzip').send('{"amount":5}'), 400],
    ['an unknown content encoding', (a) => a.post('/me/points/charge').set(bearer(customer)).type('json').set('Content-Encoding', 'compress').send('{"amount":5}'), 415],
  ];

  it.each(leftToExpress)('leaves %s to Express', async (_name, send, status) => {
    const { lane, took } = await bothWays(send);
    expect(lane.status).toBe(status);
    expect(took).toBe(false);
  });

  it('takes a chunked body, and refuses one that grows past the limit, as Express does', async () => {
    const onlyExpress = createServer(t.app.express);
    await new Promise<void>((resolve) => onlyExpress.listen(0, '127.0.0.1', resolve));
    const expressUrl = `http://127.0.0.1:${(onlyExpress.address() as AddressInfo).port}`;
    try {
      const small = ['{"amount":', '7}'];
      const tooLarge = ['{"amount":7,"pad":"', 'x'.repeat(t.app.composed.services.config.BODY_LIMIT_BYTES), '"}'];
      for (const [parts, status] of [[small, 200], [tooLarge, 413]] as const) {
        taken.length = 0;
        const lane = await chunked(lanedUrl, parts);
        expect(taken).toEqual([true]);
        const express = await chunked(expressUrl, parts);
        expect(lane.status).toBe(status);
        expect([lane.status, lane.type, lane.body.code]).toEqual([express.status, express.type, express.body.code]);
      }
    } finally {
      await new Promise((resolve) => onlyExpress.close(resolve));
    }
  });

  /** A charge whose body is sent in parts, without a Content-Length. */
  function chunked(url: string, parts: readonly string[]): Promise<{ status: number; type: string; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = rawRequest(`${url}/me/points/charge`, { method: 'POST', headers: { ...bearer(customer), 'Content-Type': 'application/json' } }, (res: IncomingMessage) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: JSON.parse(text) }));
      });
      // The server may answer (413) and close before the whole body is sent.
      req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
      for (const part of parts) req.write(part);
      req.end();
    });
  }

  it('runs writes once, with the same outcome and replay as Express', async () => {
    const charge = (agent: ReturnType<typeof request>) => agent.post('/me/points/charge').set(bearer(customer)).set('Idempotency-Key', 'lane-charge').send({ amount: 30 });
    taken.length = 0;
    const first = await charge(request(lanedUrl));
    const replayedByExpress = await charge(request(t.app.express));
    const replayedByLane = await charge(request(lanedUrl));
    expect(taken).toEqual([true, true]);
    expect(first.status).toBe(200);
    expect(replayedByExpress.headers['idempotent-replayed']).toBe('true');
    expect(answer(replayedByLane)).toEqual(answer(replayedByExpress));
    expect(replayedByLane.body).toEqual(first.body);
    const charged = (await t.app.services.events.readStream('wallet-lane-customer')).filter((event) => event.type === 'PointsCharged');
    expect(charged.map((event) => event.data.amount)).toEqual([7, 7, 30]);
  });

  it('serves a changed product, not the copy it held, once the change is projected', async () => {
    await request(lanedUrl).get(`/products/${productId}`).expect(200);
    const restock = await t.http().post(`/admin/products/${productId}/restock`).set(bearer(admin)).send({ quantity: 4 });
    expect(restock.status).toBe(200);
    const consistent = await request(lanedUrl).get(`/products/${productId}`).set('X-Consistent-With', restock.body.position);
    taken.length = 0;
    const plainRead = await request(lanedUrl).get(`/products/${productId}`);
    expect(taken).toEqual([true]);
    expect(plainRead.body.stock).toBe(9);
    expect(answer(plainRead)).toEqual(answer(consistent));
  });

  it('counts what it answers in the latency metric, by route', async () => {
    await request(lanedUrl).get(`/products/${productId}`).expect(200);
    const metrics = await request(t.app.express).get('/metrics');
    expect(metrics.text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/products\/:id",status="200"\} [1-9]/);
  });
});

describe('the FAST_LANE switch', () => {
  it('puts the fast lane in front of Express by default, and leaves every request to Express when off', async () => {
    const on = await startTestApp({ env: { FAST_LANE: 'true' } });
    const off = await startTestApp({ env: { FAST_LANE: 'false' } });
    try {
      expect(on.app.http).not.toBe(on.app.express);
      expect(off.app.http).toBe(off.app.express);
      expect((await off.http().get('/products?limit=1')).status).toBe(200);
    } finally {
      await on.close();
      await off.close();
    }
  });
});
