import { rmSync } from 'node:fs';
import { SignJWT } from 'jose';
import { REDIS_URL, startTestApp, TEST_JWT_SECRET, TestApp, bearer } from '../support/app';
import { answering, as, httpSpec } from '../support/http-spec';
import { ErrorCode } from '../../src/shared/http/problem';

const secretKey = new TextEncoder().encode(TEST_JWT_SECRET);

async function balanceOf(t: TestApp, token: string, position?: string) {
  const res = await t
    .http()
    .get('/me/points')
    .set(bearer(token))
    .set(position ? { 'X-Consistent-With': position } : {});
  expect(res.status).toBe(200);
  return res.body.balance as number;
}

/** The truth: the sum of the wallet's events in the log. */
async function balanceFromLog(t: TestApp, userId: string) {
  const events = await t.app.services.events.readStream(`wallet-${userId}`);
  return events.reduce((sum, e) => {
    const amount = (e.data as { amount: number }).amount;
    return e.type === 'PointsUsed' ? sum - amount : sum + amount;
  }, 0);
}

describe.each([
  ['embedded', {}],
  ['with Redis', { REDIS_URL }],
])('points (%s)', (_name, env) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env });
  });
  afterAll(async () => t.close());

  it('charges, shows the balance and the history, newest first', async () => {
    const charged = await httpSpec(t)
      .given(as('alice').post('/me/points/charge', { amount: 1000 }))
      .when(as('alice').post('/me/points/charge', { amount: 250 }))
      .then(200, { userId: 'alice', balance: 1250, charged: 250, position: expect.any(String) }, [
        { type: 'PointsCharged', stream: 'wallet-alice', data: { userId: 'alice', amount: 250, balanceAfter: 1250 } },
      ]);
    const consistent = { 'X-Consistent-With': charged.body.position };

    await httpSpec(t).given().when(as('alice').get('/me/points', undefined, consistent)).then(200, { balance: 1250 }, []);
    const history = await httpSpec(t).given().when(as('alice').get('/me/points/history', undefined, consistent)).then(200, { nextCursor: null });
    expect(history.body.items).toEqual([
      { type: 'CHARGE', amount: 250, balanceAfter: 1250, occurredAt: expect.any(String) },
      { type: 'CHARGE', amount: 1000, balanceAfter: 1000, occurredAt: expect.any(String) },
    ]);
  });

  it('shows 0 for a user who never charged', async () => {
    await httpSpec(t).given().when(as('nobody').get('/me/points')).then(200, { balance: 0 }, []);
  });

  it('pages through the history with a cursor', async () => {
    const token = await t.tokenFor('pager');
    let position = '';
    for (let i = 1; i <= 5; i += 1) {
      position = (await t.http().post('/me/points/charge').set(bearer(token)).send({ amount: i })).body.position;
    }
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: import('supertest').Response = await t
        .http()
        .get('/me/points/history')
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(bearer(token))
        .set('X-Consistent-With', position);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((item: { amount: number }) => item.amount));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([5, 4, 3, 2, 1]);
  });

  it('refuses a charge past the balance cap and changes nothing', async () => {
    const charge = (amount: number) => as('rich').post('/me/points/charge', { amount });
    await httpSpec(t)
      .given(...Array.from({ length: 10 }, () => charge(1_000_000)))
      .when(charge(1))
      .thenRefused(409, 'POINTS_BALANCE_LIMIT');
    expect(await balanceFromLog(t, 'rich')).toBe(10_000_000);
  });

  describe('bad input gets a 4xx problem and changes nothing', () => {
    const json = { 'Content-Type': 'application/json' };
    const cases: Array<[string, object | string | undefined, Record<string, string> | undefined, number, ErrorCode]> = [
      ['no body', undefined, undefined, 400, 'VALIDATION_FAILED'],
      ['zero', { amount: 0 }, undefined, 400, 'VALIDATION_FAILED'],
      ['negative', { amount: -5 }, undefined, 400, 'VALIDATION_FAILED'],
      ['fractional', { amount: 1.5 }, undefined, 400, 'VALIDATION_FAILED'],
      ['a string', { amount: '100' }, undefined, 400, 'VALIDATION_FAILED'],
      ['over the single-charge maximum', { amount: 1_000_001 }, undefined, 400, 'VALIDATION_FAILED'],
      ['huge', { amount: 1e308 }, undefined, 400, 'VALIDATION_FAILED'],
      ['an unknown field', { amount: 10, balance: 1e9 }, undefined, 400, 'VALIDATION_FAILED'],
      ['malformed JSON', '{"amount": 1', json, 400, 'MALFORMED_JSON'],
      ['an array', [{ amount: 10 }], undefined, 400, 'VALIDATION_FAILED'],
      ['a body over the size limit', { amount: 10, pad: 'x'.repeat(100_000) }, undefined, 413, 'PAYLOAD_TOO_LARGE'],
      ['an empty Idempotency-Key', { amount: 10 }, { 'Idempotency-Key': '' }, 400, 'VALIDATION_FAILED'],
      ['an overlong Idempotency-Key', { amount: 10 }, { 'Idempotency-Key': 'k'.repeat(256) }, 400, 'VALIDATION_FAILED'],
    ];
    it.each(cases)('%s', async (_label, body, headers, status, code) => {
      await httpSpec(t).given().when(as('careful').post('/me/points/charge', body, headers)).thenRefused(status, code);
      expect(await t.app.services.events.readStream('wallet-careful')).toEqual([]);
    });

    const tokens: Array<[string, () => Promise<string | undefined>]> = [
      ['no token', async () => undefined],
      ['garbage', async () => 'not-a-jwt'],
      ['a bad signature', async () => (await t.tokenFor('careful')).slice(0, -3) + 'abc'],
      ['an expired token', () => new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('careful').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(secretKey)],
      ['no expiry', () => new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('careful').sign(secretKey)],
      ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'careful', role: 'customer', exp: 9_999_999_999 })}.`],
      ['no iat', () => new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('careful').setExpirationTime('1h').sign(secretKey)],
      ['an exp in 9999, issued 2 days ago', () => new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('careful').setIssuedAt(Math.floor(Date.now() / 1000) - 2 * 86_400).setExpirationTime(253_402_300_799).sign(secretKey)],
      ['an unknown role', () => new SignJWT({ role: 'root' }).setProtectedHeader({ alg: 'HS256' }).setSubject('careful').setExpirationTime('1h').sign(secretKey)],
      ['another key', () => new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('careful').setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(40)))],
    ];
    it.each(tokens)('401 for %s', async (_label, make) => {
      const token = await make();
      await httpSpec(t)
        .given()
        .when(as('anonymous').post('/me/points/charge', { amount: 10 }, token ? bearer(token) : undefined))
        .then(401, { code: 'UNAUTHENTICATED' }, []);
      expect(await t.app.services.events.readStream('wallet-careful')).toEqual([]);
    });
  });

  it('500 concurrent charges to one wallet end at the exact sum', async () => {
    const token = await t.tokenFor('hot');
    const amounts = Array.from({ length: 500 }, (_, i) => (i % 7) + 1);
    const responses = await Promise.all(amounts.map((amount) => t.http().post('/me/points/charge').set(bearer(token)).send({ amount })));
    expect(responses.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    const total = amounts.reduce((a, b) => a + b, 0);
    expect(await balanceFromLog(t, 'hot')).toBe(total);
    expect(Math.max(...responses.map((r) => r.body.balance))).toBe(total);
    const last = responses.map((r) => r.body.position as string).sort().at(-1)!;
    expect(await balanceOf(t, token, last)).toBe(total);
  });

  it('50 concurrent requests with one Idempotency-Key charge once', async () => {
    const token = await t.tokenFor('retrier');
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => t.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'charge-1').send({ amount: 700 })),
    );
    const ok = responses.filter((r) => r.status === 200);
    const busy = responses.filter((r) => r.status === 409);
    expect(ok.length + busy.length).toBe(50);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    busy.forEach((r) => expect(r.body.code).toBe('IDEMPOTENCY_KEY_IN_USE'));
    ok.forEach((r) => expect(r.body).toMatchObject({ balance: 700, charged: 700 }));
    expect(await balanceFromLog(t, 'retrier')).toBe(700);

    const replay = await t.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'charge-1').send({ amount: 700 });
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(ok[0].body);

    const reused = await t.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'charge-1').send({ amount: 701 });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    const otherUser = await t.http().post('/me/points/charge').set(bearer(await t.tokenFor('someone-else'))).set('Idempotency-Key', 'charge-1').send({ amount: 5 });
    expect(otherUser.status).toBe(200);
    expect(otherUser.body.balance).toBe(5);
    expect(await balanceFromLog(t, 'retrier')).toBe(700);
  });

  it('replays a business refusal for the same key rather than deciding again', async () => {
    const charge = (amount: number, headers?: Record<string, string>) => as('capped').post('/me/points/charge', { amount }, headers);
    const keyed = charge(5, { 'Idempotency-Key': 'over' });
    const again = await httpSpec(t)
      .given(...Array.from({ length: 10 }, () => charge(1_000_000)), answering(409, keyed))
      .when(keyed)
      .then(409, { code: 'POINTS_BALANCE_LIMIT' }, []);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });
});

describe('points survive a restart', () => {
  it('keeps balances, history and tokens across a stop and start on one data directory', async () => {
    const first = await startTestApp({ env: { JWT_SECRET: '' } });
    const token = await first.tokenFor('durable');
    const res = await first.http().post('/me/points/charge').set(bearer(token)).send({ amount: 4321 });
    expect(res.status).toBe(200);
    await first.stop();

    const second = await startTestApp({ dataDir: first.dataDir, env: { JWT_SECRET: '' } });
    try {
      expect(await balanceOf(second, token, res.body.position)).toBe(4321);
      const again = await second.http().post('/me/points/charge').set(bearer(token)).send({ amount: 1 });
      expect(again.body.balance).toBe(4322);
    } finally {
      await second.close();
    }
  });
});

function b64(value: object) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('points while Redis is unreachable', () => {
  it('refuses an Idempotency-Key it cannot honour with 503, and still serves requests without one', async () => {
    // Nothing listens on port 1: locks and idempotency both live in Redis here.
    const t = await startTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1?disconnectTimeout=10' } });
    try {
      const token = await t.tokenFor('offline');
      const keyed = await t.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'k1').send({ amount: 10 });
      expect(keyed.status).toBe(503);
      expect(keyed.body.code).toBe('IDEMPOTENCY_UNAVAILABLE');
      expect(keyed.headers['retry-after']).toBe('1');
      expect(await t.app.services.events.readStream('wallet-offline')).toEqual([]);
      const plain = await t.http().post('/me/points/charge').set(bearer(token)).send({ amount: 10 });
      expect(plain.status).toBe(200);
      expect(await balanceFromLog(t, 'offline')).toBe(10);
    } finally {
      await t.stop();
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});
