import pino from 'pino';
import type { Response } from 'supertest';
import { RateLimits } from '../../src/shared/ratelimit/limits';
import { InProcessRateLimiter } from '../../src/shared/ratelimit/memory';
import { bearer, REDIS_URL, startTestApp, TestApp } from '../support/app';
import { as, HttpCall, httpSpec } from '../support/http-spec';

const LIMITS = {
  // The per-IP limits are tested from addresses other than loopback, which dev tokens refuse by default.
  AUTH_DEV_TOKENS_REMOTE: 'true',
  RATE_LIMIT_WRITE_PER_USER: '3',
  RATE_LIMIT_WRITE_PER_IP: '8',
  RATE_LIMIT_ISSUE_PER_USER: '1',
  RATE_LIMIT_TOKEN_PER_IP: '2',
};

/** What a limited request answers besides its problem: when to try again. */
function expectRetryAfter(res: Response) {
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

const limitedBody = (scope: 'user' | 'ip', limit: number) => ({ scope, limit, windowSeconds: 60 });

function expectLimited(res: Response, scope: 'user' | 'ip', limit: number) {
  expect(res.status).toBe(429);
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 429, code: 'RATE_LIMITED', ...limitedBody(scope, limit) });
  expectRetryAfter(res);
}

describe.each([
  ['in-process', {}],
  ['redis', { REDIS_URL }],
])('abuse limits (%s)', (adapter, env) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { ...env, ...LIMITS } });
    expect(t.app.composed.adapters.rateLimits).toBe(adapter);
  });
  afterAll(async () => t.close());

  // The app trusts X-Forwarded-For from loopback (a local proxy), so each test can be its own client address.
  const from = (ip: string) => ({ 'X-Forwarded-For': ip });
  const charge = (ip: string, userId: string) => as(userId).post('/me/points/charge', { amount: 1 }, from(ip));
  const mint = (ip: string) => as('anonymous').post('/auth/dev-token', { userId: 'minter', role: 'customer' }, from(ip));
  /** Given these requests, this one is refused by the limit: 429 RATE_LIMITED with its scope, a Retry-After, and nothing written. */
  const limited = async (given: HttpCall[], when: HttpCall, scope: 'user' | 'ip', limit: number) =>
    expectRetryAfter(await httpSpec(t).given(...given).when(when).thenRefused(429, 'RATE_LIMITED', limitedBody(scope, limit)));
  const spec = () => httpSpec(t).given();

  it('limits writes per user: the fourth in a window gets 429 with Retry-After and writes nothing; other users and reads go on', async () => {
    await limited([charge('10.0.1.1', 'limited-user'), charge('10.0.1.1', 'limited-user'), charge('10.0.1.1', 'limited-user')], charge('10.0.1.1', 'limited-user'), 'user', 3);
    await spec().when(charge('10.0.1.1', 'other-user')).then(200, { balance: 1 });
    await spec().when(as('limited-user').get('/me/points', undefined, from('10.0.1.1'))).then(200, { balance: 3 });
  });

  it('counts concurrent requests exactly', async () => {
    const token = await t.tokenFor('burst-user');
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => t.http().post('/me/points/charge').set(from(`10.0.2.${i}`)).set(bearer(token)).send({ amount: 1 })));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(3);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(17);
    expect(await t.app.services.events.readStream('wallet-burst-user')).toHaveLength(3);
  });

  it('limits writes per IP, whoever the users are', async () => {
    const crowd = Array.from({ length: 8 }, (_, i) => charge('10.0.3.1', `crowd-${i}`));
    await limited(crowd, charge('10.0.3.1', 'crowd-8'), 'ip', 8);
    await spec().when(charge('10.0.3.2', 'crowd-8')).then(200);
  });

  it('limits writes per IP before it looks at the token', async () => {
    const crowd = Array.from({ length: 8 }, (_, i) => charge('10.0.3.3', `crowd-${i}`));
    const withBadToken = as('anonymous').post('/me/points/charge', { amount: 1 }, { ...from('10.0.3.3'), Authorization: 'Bearer not-a-token' });
    await limited(crowd, withBadToken, 'ip', 8);
  });

  it('limits token issuance per IP', async () => {
    await limited([mint('10.0.4.1'), mint('10.0.4.1')], mint('10.0.4.1'), 'ip', 2);
    await spec().when(mint('10.0.4.2')).then(200, { token: expect.any(String) });
  });

  it('limits coupon issuance per user, apart from other writes', async () => {
    const admin = await t.tokenFor('limits-admin', 'admin');
    const coupon = async () =>
      (await t.http().post('/admin/coupons').set(from('10.0.5.9')).set(bearer(admin)).send({ name: 'C', discount: { type: 'FIXED', amount: 1 }, totalQuantity: 10 })).body.couponId as string;
    const [first, second] = [await coupon(), await coupon()];
    const issue = (couponId: string) => as('collector').post(`/coupons/${couponId}/issue`, undefined, from('10.0.5.1'));
    await limited([issue(first)], issue(second), 'user', 1);
    await spec().when(charge('10.0.5.1', 'collector')).then(200);
  });
});

describe('abuse limits shared by two instances on one Redis', () => {
  const prefix = `eventmart-test:limits:${process.pid}:${Date.now()}:`;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await startTestApp({ env: { REDIS_URL, REDIS_PREFIX: prefix, ...LIMITS } });
    b = await startTestApp({ env: { REDIS_URL, REDIS_PREFIX: prefix, ...LIMITS } });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('refuses the fourth write of a user however the requests are spread', async () => {
    const token = await a.tokenFor('spread');
    const send = (t: TestApp) => t.http().post('/me/points/charge').set(bearer(token)).send({ amount: 1 });
    expect([(await send(a)).status, (await send(b)).status, (await send(a)).status]).toEqual([200, 200, 200]);
    expectLimited(await send(b), 'user', 3);
  });
});

describe('abuse limit policy', () => {
  const config = {
    RATE_LIMIT_WINDOW_MS: 60_000,
    RATE_LIMIT_WRITE_PER_USER: 2,
    RATE_LIMIT_WRITE_PER_IP: 0,
    RATE_LIMIT_ISSUE_PER_USER: 1,
    RATE_LIMIT_ISSUE_PER_IP: 1,
    RATE_LIMIT_TOKEN_PER_IP: 1,
  };

  it('switches a limit off with 0', async () => {
    const limits = new RateLimits(new InProcessRateLimiter(), config, pino({ level: 'silent' }));
    for (let i = 0; i < 100; i += 1) expect(await limits.check('write', 'ip', '10.0.0.1')).toBeNull();
    expect(await limits.check('write', 'user', 'u')).toBeNull();
    expect(await limits.check('write', 'user', 'u')).toBeNull();
    expect(await limits.check('write', 'user', 'u')).toMatchObject({ kind: 'write', scope: 'user', limit: 2, retryAfterSeconds: 60 });
  });

  it('lets requests through, and says so in the log, when the counters are unavailable', async () => {
    const lines: string[] = [];
    const broken = { adapterName: 'broken', hit: () => Promise.reject(new Error('redis is gone')), close: async () => undefined };
    const limits = new RateLimits(broken, config, pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }));
    for (let i = 0; i < 5; i += 1) expect(await limits.check('token', 'ip', '10.0.0.1')).toBeNull();
    expect(lines.join('')).toContain('rate limit counter unavailable');
  });

  it('documents 429 with Retry-After on every limited route, and only there', async () => {
    const t = await startTestApp();
    try {
      const { paths } = (await t.http().get('/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>> };
      for (const route of t.app.routes) {
        const responses = paths[route.path][route.method].responses;
        expect(`${route.method} ${route.path}: ${Boolean(responses['429'])}`).toBe(`${route.method} ${route.path}: ${route.method !== 'get'}`);
        if (responses['429']) expect(responses['429'].headers).toHaveProperty('Retry-After');
      }
    } finally {
      await t.close();
    }
  });
});
