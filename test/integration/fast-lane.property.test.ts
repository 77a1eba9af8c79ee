import fc from 'fast-check';
import request, { Response, Test } from 'supertest';
import { ZodObject, ZodType } from 'zod';
import { RouteDefinition } from '../../src/shared/http/route';
import { bearer, startTestApp, TestApp } from '../support/app';

/**
 * One HTTP contract, two transports: two instances of the application that differ only in
 * FAST_LANE get the same generated requests, valid and invalid, in the same order, and must
 * answer each with the same status, headers and body. Their clocks stand still at the same
 * moment and their ids count up alike, and both are caught up before each request, so
 * whatever one answers the other must answer too.
 */

/** Answers that carry what only one instance can know (event ids, fresh keys, a token's own timestamp). */
const LEFT_OUT = [/^\/auth\//, /^\/admin\/streams\//, /^\/admin\/data-platform\//, /^\/admin\/projections/, /^\/admin\/payment-data\//, /^\/admin\/users\//];

/** The field names of an object schema (a route's body or query). */
const fieldsOf = (schema: ZodType | undefined): string[] => (schema instanceof ZodObject ? Object.keys(schema.shape) : []);

/** Null five times in six: a field or key the route does not take, now and then. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary, weight: 1 });

const idOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function deterministic() {
  const now = new Date();
  let n = 0;
  return { clock: { now: () => new Date(now) }, ids: { newId: () => idOf((n += 1)) } };
}

interface Generated {
  /** `METHOD /path`, so that a counterexample reads as a request. */
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly auth: 'none' | 'customer' | 'admin' | 'forged';
  readonly idempotencyKey: string | null;
  readonly body: { readonly kind: 'none' } | { readonly kind: 'json'; readonly value: unknown } | { readonly kind: 'raw'; readonly text: string };
}

describe('the fast lane and Express, on generated requests', () => {
  let laned: TestApp;
  let plain: TestApp;
  const tokens = { customer: '', admin: '' };

  beforeAll(async () => {
    const env = { RUN_PROJECTIONS: 'false', AUTH_DEV_TOKENS: 'false' };
    const clockAndIds = deterministic();
    [laned, plain] = await Promise.all([
      startTestApp({ env: { ...env, FAST_LANE: 'true' }, overrides: deterministic() }),
      startTestApp({ env: { ...env, FAST_LANE: 'false' }, overrides: clockAndIds }),
    ]);
    // One token for both: they share the test secret.
    tokens.customer = await laned.tokenFor('prop-customer');
    tokens.admin = await laned.tokenFor('prop-admin', 'admin');
  });
  afterAll(async () => {
    await Promise.all([laned?.close(), plain?.close()]);
  });

  const answer = (res: Response) => {
    const { date: _date, ...headers } = res.headers;
    return { status: res.status, headers, body: res.body as unknown, text: res.text };
  };

  const routeNamed = new Map<string, RouteDefinition>();

  function send(t: TestApp, g: Generated): Test {
    const route = routeNamed.get(g.route)!;
    const path = route.path.replace(/\{(\w+)\}/g, (_whole, name: string) => encodeURIComponent(g.params[name]));
    let req = (request(t.baseUrl)[route.method] as (url: string) => Test)(path).query(g.query);
    if (g.auth !== 'none') req = req.set(bearer(g.auth === 'forged' ? 'not.a.token' : tokens[g.auth]));
    if (g.idempotencyKey !== null) req = req.set('Idempotency-Key', g.idempotencyKey);
    if (g.body.kind === 'json') req = req.send(g.body.value as object);
    if (g.body.kind === 'raw') req = req.type('json').send(g.body.text);
    return req;
  }

  async function bothAnswer(g: Generated): Promise<{ lane: Response; express: Response }> {
    // Both read models stand at their heads, so a read sees every write before it on either.
    await Promise.all([laned.app.projector.catchUp(), plain.app.projector.catchUp()]);
    const lane = await send(laned, g);
    const express = await send(plain, g);
    return { lane, express };
  }

  it('answers every request as Express alone does', async () => {
    const routes = laned.app.routes.filter((route) => !LEFT_OUT.some((pattern) => pattern.test(route.path)));
    for (const route of routes) routeNamed.set(`${route.method.toUpperCase()} ${route.path}`, route);
    // Early ids name the products, coupons and orders the generated writes create, so later requests find them.
    const known = fc.constantFrom(idOf(1), idOf(2), idOf(3), idOf(4), idOf(5), 'no-such-thing', '');
    const small = fc.integer({ min: -2, max: 3_000 });
    const fields: Record<string, fc.Arbitrary<unknown>> = {
      amount: small,
      name: fc.constantFrom('Mug', ' Cup ', '', 'x'.repeat(300)),
      price: small,
      stock: fc.integer({ min: -1, max: 20 }),
      quantity: fc.integer({ min: -1, max: 5 }),
      items: fc.array(fc.record({ productId: known, quantity: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 2 }),
      userCouponId: fc.constantFrom(`${idOf(3)}:prop-customer`, `${idOf(4)}:prop-customer`, 'nope'),
      payer: fc.constantFrom({ name: 'Kim', phone: '010-1234-5678', email: 'kim@example.com' }, { name: '' }, 7),
      discount: fc.constantFrom({ type: 'FIXED', amount: 100 }, { type: 'RATE', percent: 10 }, { type: 'FIXED' }, 'all'),
      totalQuantity: fc.integer({ min: 0, max: 5 }),
      minOrderAmount: fc.integer({ min: -1, max: 2_000 }),
      validDays: fc.option(fc.integer({ min: 0, max: 30 })),
      status: fc.constantFrom('PAID', 'PENDING', 'ANY'),
    };
    /** A body of the route's own fields (plus, now and then, one it does not take), or none, or text that is no such body. */
    const bodyFor = (route: RouteDefinition): fc.Arbitrary<Generated['body']> => {
      const own = fieldsOf(route.body).filter((key) => key in fields);
      const keys = fc.tuple(fc.oneof({ arbitrary: fc.constant(own), weight: 3 }, { arbitrary: fc.subarray(own), weight: 1 }), rarely(fc.constantFrom(...Object.keys(fields))));
      const object = keys
        .chain(([chosen, extra]) => fc.record(Object.fromEntries([...chosen, ...(extra ? [extra] : [])].map((key) => [key, fields[key]]))))
        .map((value) => ({ kind: 'json' as const, value }));
      return fc.oneof(
        { arbitrary: object, weight: 6 },
        { arbitrary: fc.constant({ kind: 'none' as const }), weight: 1 },
        { arbitrary: fc.constantFrom('{"amount":', '5', '[]', 'null', '"text"', '{}').map((text) => ({ kind: 'raw' as const, text })), weight: 1 },
      );
    };
    const values = fc.constantFrom('1', '2', '0', '-1', '30', '101', 'abc', 'PAID', 'PENDING', '2026-11-01');
    const queryFor = (route: RouteDefinition): fc.Arbitrary<Generated['query']> => {
      const own = fieldsOf(route.query);
      const keys = fc.tuple(fc.subarray(own, { maxLength: Math.min(2, own.length) }), rarely(fc.constant('colour')));
      return keys.chain(([chosen, extra]) => fc.record(Object.fromEntries([...chosen, ...(extra ? [extra] : [])].map((key) => [key, values]))));
    };
    const generated: fc.Arbitrary<Generated> = fc.constantFrom(...routes).chain((route) =>
      fc.record({
        route: fc.constant(`${route.method.toUpperCase()} ${route.path}`),
        params: fc.record({ id: known, couponId: known, orderId: known, name: known, userId: known, stream: known }),
        query: queryFor(route),
        // Mostly the caller the route is for, so that writes get through and later requests find what they made.
        auth: fc.oneof(
          { arbitrary: fc.constant(route.access === 'admin' ? ('admin' as const) : ('customer' as const)), weight: 6 },
          { arbitrary: fc.constantFrom('none' as const, 'customer' as const, 'admin' as const, 'forged' as const), weight: 2 },
        ),
        idempotencyKey: rarely(fc.constantFrom('k-1', 'k-2', 'k'.repeat(300))),
        body: route.method === 'get' ? fc.constant({ kind: 'none' as const }) : bodyFor(route),
      }),
    );

    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(generated, async (g) => {
        const { lane, express } = await bothAnswer(g);
        statuses.set(lane.status, (statuses.get(lane.status) ?? 0) + 1);
        expect(answer(lane)).toEqual(answer(express));
      }),
      { numRuns: 300 },
    );
    // Generated requests that never succeed or never fail would prove little.
    expect([...statuses.keys()].some((status) => status < 300)).toBe(true);
    expect([...statuses.keys()].some((status) => status >= 400)).toBe(true);
  });
});
