import type { Response } from 'supertest';
import { Access } from '../../src/shared/http/route';
import { bearer, startTestApp, TestApp } from '../support/app';
import { as, httpSpec } from '../support/http-spec';
import { A_CHARGE, forgedTokens, PAYER, pathFor, seedShop, sender, Shop, USER_A, validBody } from './security.support';

type Caller = 'invalid' | 'A' | 'B' | 'admin';
type Outcome = 401 | 403 | 404 | 'answered';

/** The matrix: what each kind of caller gets from a route. */
function expected(access: Access, path: string, caller: Caller): Outcome {
  if (access === 'public') return 'answered';
  if (caller === 'invalid') return 401;
  if (access === 'admin') return caller === 'admin' ? 'answered' : 403;
  // Only customer A owns the order in the path; anyone else is told it does not exist.
  if (path.includes('{orderId}') && caller !== 'A') return 404;
  return 'answered';
}

function mismatch(outcome: Outcome, res: Response): string | null {
  switch (outcome) {
    case 'answered':
      return res.status < 500 && res.status !== 401 && res.status !== 403 && res.body?.code !== 'ROUTE_NOT_FOUND' ? null : 'an answer from the route itself';
    case 401:
      return res.status === 401 && res.body.code === 'UNAUTHENTICATED' && /^Bearer/.test(res.headers['www-authenticate'] ?? '') ? null : '401 UNAUTHENTICATED';
    case 403:
      return res.status === 403 && res.body.code === 'FORBIDDEN' ? null : '403 FORBIDDEN';
    case 404:
      return res.status === 404 && res.body.code === 'ORDER_NOT_FOUND' ? null : '404 ORDER_NOT_FOUND';
  }
}

describe('access control: every route x every kind of caller', () => {
  let t: TestApp;
  let shop: Shop;
  let operations: Array<{ path: string; method: string; access: Access }>;

  beforeAll(async () => {
    t = await startTestApp();
    shop = await seedShop(t);
    const { paths } = (await t.http().get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    operations = Object.entries(paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => {
        const route = t.app.routes.find((r) => r.path === path && r.method === method);
        // Only /health, /ready and /metrics are documented without a route definition; they are public.
        return { path, method, access: route?.access ?? 'public' };
      }),
    );
  });
  afterAll(async () => t.close());

  it('takes its routes from /openapi.json, which documents every route with the access it really has', async () => {
    expect(operations.length).toBeGreaterThanOrEqual(t.app.routes.length + 3);
    for (const route of t.app.routes) expect(operations).toContainEqual(expect.objectContaining({ path: route.path, method: route.method }));
    const { paths } = (await t.http().get('/openapi.json')).body;
    for (const route of t.app.routes) expect(paths[route.path][route.method].security.length === 0).toBe(route.access === 'public');
  });

  it("answers every cell as the matrix says, and never shows one customer's data to anyone else", async () => {
    const forged = await forgedTokens(shop.customerA);
    const callers: Array<[string, string | undefined, Caller]> = [
      ['no token', undefined, 'invalid'],
      ...Object.entries(forged).map(([name, token]): [string, string, Caller] => [name, token, 'invalid']),
      ['customer B', shop.customerB, 'B'],
      ['admin', shop.admin, 'admin'],
      // Last: A's own cells change A's order (a cancellation).
      ['customer A', shop.customerA, 'A'],
    ];
    const send = sender(t);
    const secretsOfA = [USER_A, shop.orderId, shop.userCouponId, String(A_CHARGE)];
    const failures: string[] = [];
    let cells = 0;
    for (const [callerName, token, caller] of callers) {
      for (const { path, method, access } of operations) {
        const route = t.app.routes.find((r) => r.path === path && r.method === method);
        let req = send(method, pathFor({ path }, shop)).set('X-Consistent-With', shop.position);
        if (token) req = req.set(bearer(token));
        const body = route && validBody(route, shop);
        const res = await (body ? req.send(body) : req);
        cells += 1;
        const cell = `${method.toUpperCase()} ${path} as ${callerName}: ${res.status} ${res.body?.code ?? ''}`;
        const want = mismatch(expected(access, path, caller), res);
        if (want) failures.push(`${cell}, expected ${want}`);
        const text = JSON.stringify(res.body ?? {}) + (res.text ?? '');
        // Operations routes (/metrics) are left out: their numbers can spell anything.
        if (route && caller !== 'A' && access !== 'admin' && res.status < 300) {
          for (const secret of secretsOfA) if (text.includes(secret)) failures.push(`${cell} shows customer A's ${secret}`);
        }
        const mayShowPayer = caller === 'A' && method === 'get' && path === '/me/orders/{orderId}';
        if (!mayShowPayer && (text.includes(PAYER.phone) || text.includes(PAYER.email))) failures.push(`${cell} shows the payer`);
      }
    }
    expect(failures).toEqual([]);
    expect(cells).toBe(callers.length * operations.length);
  });

  /** What customer A reads of their own, and the part of the answer that must be there. */
  const ownReads: Array<[string, () => [string, object]]> = [
    ['their orders', () => ['/me/orders', { items: expect.arrayContaining([expect.objectContaining({ orderId: shop.orderId })]) }]],
    ['their order with its payer', () => [`/me/orders/${shop.orderId}`, { orderId: shop.orderId, payer: PAYER }]],
    ['their coupons', () => ['/me/coupons', { items: expect.arrayContaining([expect.objectContaining({ userCouponId: shop.userCouponId })]) }]],
    ['their point history', () => ['/me/points/history', { items: expect.arrayContaining([expect.objectContaining({ amount: A_CHARGE })]) }]],
  ];
  it.each(ownReads)("shows customer A %s (so the matrix's leak checks look for things that exist)", async (_what, read) => {
    const [path, body] = read();
    await httpSpec(t)
      .given()
      .when(as(USER_A).get(path, undefined, { 'X-Consistent-With': shop.position }))
      .then(200, body);
  });
});
