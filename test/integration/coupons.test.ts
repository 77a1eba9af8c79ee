import { Redis } from 'ioredis';
import type { Response } from 'supertest';
import { Clock } from '../../src/shared/container/tokens';
import { Admission } from '../../src/write/coupon/gate/port';
import { couponDecider, couponStream } from '../../src/write/coupon/decider';
import { userCouponDecider } from '../../src/write/usercoupon/decider';
import { bearer, REDIS_URL, startTestApp, TestApp } from '../support/app';
import { deleteKeys } from '../support/redis';
import { as, httpSpec } from '../support/http-spec';
import { ErrorCode } from '../../src/shared/http/problem';

const RUSH_USERS = 2_000;
const QUANTITY = 100;
const NOW = '2030-01-01T00:00:00.000Z';

let rushTokens: Array<{ userId: string; token: string }>;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  // Any app signs with the same test secret, so these tokens work against every app below.
  const signer = await startTestApp();
  try {
    rushTokens = await Promise.all(
      Array.from({ length: RUSH_USERS }, async (_, i) => ({ userId: `rush-${i}`, token: await signer.tokenFor(`rush-${i}`) })),
    );
  } finally {
    await signer.close();
  }
});
afterAll(async () => {
  await redis.quit();
});

async function createCoupon(t: TestApp, body: Record<string, unknown> = {}) {
  const res = await t
    .http()
    .post('/admin/coupons')
    .set(bearer(await t.tokenFor('the-admin', 'admin')))
    .send({ name: 'Rush hour', discount: { type: 'FIXED', amount: 1000 }, totalQuantity: QUANTITY, ...body });
  expect(res.status).toBe(201);
  return res.body as { couponId: string; position: string } & Record<string, unknown>;
}

const issue = (t: TestApp, couponId: string, token: string) => t.http().post(`/coupons/${couponId}/issue`).set(bearer(token));

/** Every request in flight at once, spread over the given instances. */
const rush = (apps: readonly TestApp[], couponId: string, tokens = rushTokens) =>
  Promise.all(tokens.map(({ token }, i) => issue(apps[i % apps.length], couponId, token)));

function outcomes(responses: readonly Response[]) {
  return responses.reduce<Record<string, number>>((counts, res) => {
    const key = res.status === 201 ? '201' : `${res.status} ${res.body.code}`;
    return { ...counts, [key]: (counts[key] ?? 0) + 1 };
  }, {});
}

async function issuedUsers(t: TestApp, couponId: string): Promise<string[]> {
  const events = await t.app.services.events.readStream(`coupon-${couponId}`);
  return events.filter((e) => e.type === 'CouponIssued').map((e) => e.data.userId as string);
}

const lastPosition = (responses: readonly Response[]) =>
  responses.flatMap((res) => (res.status === 201 ? [res.body.position as string] : [])).sort().at(-1)!;

/** The rush's promise, checked against the log (the truth) and the read model. */
async function expectExactlyTheQuantity(t: TestApp, couponId: string, responses: readonly Response[]) {
  expect(outcomes(responses)).toEqual({ '201': QUANTITY, '409 COUPON_SOLD_OUT': RUSH_USERS - QUANTITY });
  const winners = responses.filter((res) => res.status === 201);
  for (const res of winners) expect(res.body).toEqual({ userCouponId: expect.stringMatching(`^${couponId}:rush-`), couponId, validUntil: null, position: expect.any(String) });
  expect(new Set(winners.map((res) => res.body.userCouponId)).size).toBe(QUANTITY);

  const holders = await issuedUsers(t, couponId);
  expect(holders).toHaveLength(QUANTITY);
  expect(new Set(holders).size).toBe(QUANTITY);
  expect(new Set(holders.map((userId) => `${couponId}:${userId}`))).toEqual(new Set(winners.map((res) => res.body.userCouponId)));

  const view = await t.http().get(`/coupons/${couponId}`).set('X-Consistent-With', lastPosition(responses));
  expect(view.status).toBe(200);
  expect(view.body).toMatchObject({ couponId, totalQuantity: QUANTITY, issuedQuantity: QUANTITY, remainingQuantity: 0 });
}

async function expectOnePerUser(apps: readonly TestApp[]) {
  const [t] = apps;
  const { couponId } = await createCoupon(t, { totalQuantity: 10 });
  const [{ userId, token }] = rushTokens;
  const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => issue(apps[i % apps.length], couponId, token)));
  expect(outcomes(responses)).toEqual({ '201': 1, '409 COUPON_ALREADY_ISSUED': 49 });
  expect(await issuedUsers(t, couponId)).toEqual([userId]);
}

describe.each([
  ['embedded', {}],
  ['with Redis', { REDIS_URL }],
])('coupon rush (%s)', (_name, env) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env });
  });
  afterAll(async () => {
    await deleteKeys(redis, t.app.services.config.REDIS_PREFIX);
    await t.close();
  });

  it(`issues exactly ${QUANTITY} of ${RUSH_USERS} parallel requests, the rest sold out`, async () => {
    const { couponId } = await createCoupon(t);
    await expectExactlyTheQuantity(t, couponId, await rush([t], couponId));
    // The gate answers the late-comers now, without the store.
    expect(await t.app.services.couponGate.admit(couponId, 'late')).toBe('sold_out');
  });

  it('issues one coupon for 50 parallel requests of one user', () => expectOnePerUser([t]));
});

describe('coupon rush with Redis flushed in the middle', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { REDIS_URL } });
  });
  afterAll(async () => {
    await deleteKeys(redis, t.app.services.config.REDIS_PREFIX);
    await t.close();
  });

  it(`still issues exactly ${QUANTITY}, and the gate is rebuilt from the log`, async () => {
    const { couponId } = await createCoupon(t);
    const gate = t.app.services.couponGate;
    const admit = gate.admit.bind(gate);
    const gateKeys = `${t.app.services.config.REDIS_PREFIX}gate:`;
    let admitted = 0;
    let deleted = 0;
    let flushing = false;
    let unknownAfterFlush = 0;
    const spy = jest.spyOn(gate, 'admit').mockImplementation(async (coupon, user): Promise<Admission> => {
      const verdict = await admit(coupon, user);
      if (verdict === 'unknown' && flushing) unknownAfterFlush += 1;
      if (verdict === 'admitted' && (admitted += 1) === QUANTITY / 2) {
        flushing = true;
        deleted = await deleteKeys(redis, gateKeys);
      }
      return verdict;
    });
    try {
      await expectExactlyTheQuantity(t, couponId, await rush([t], couponId));
    } finally {
      spy.mockRestore();
    }
    // Requests did arrive after the flush, found the gate empty and had it seeded again.
    expect(unknownAfterFlush).toBeGreaterThan(0);
    expect(deleted).toBeGreaterThan(0);
    expect(await gate.admit(couponId, 'late')).toBe('sold_out');
    const [holder] = await issuedUsers(t, couponId);
    expect(await gate.admit(couponId, holder)).toBe('already_issued');
  });
});

describe.each([
  ['sharing Redis', { REDIS_URL }],
  ['each with its own in-process gate', {}],
])('two API instances on one store, %s', (_name, env) => {
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    const prefix = `eventmart-test:coupons:${process.pid}:${Math.random().toString(36).slice(2)}:`;
    first = await startTestApp({ env: { ...env, REDIS_PREFIX: prefix } });
    // One projector for the shared read models, as in the distributed set-up.
    second = await startTestApp({ dataDir: first.dataDir, env: { ...env, REDIS_PREFIX: prefix, RUN_PROJECTIONS: 'false' } });
  });
  afterAll(async () => {
    await deleteKeys(redis, first.app.services.config.REDIS_PREFIX);
    await second.stop();
    await first.close();
  });

  it(`issues exactly ${QUANTITY} with requests spread over both`, async () => {
    const { couponId } = await createCoupon(first);
    await expectExactlyTheQuantity(first, couponId, await rush([first, second], couponId));
  });

  it('issues one coupon for 50 parallel requests of one user over both', () => expectOnePerUser([first, second]));
});

describe('the store alone decides when the gate is wrong or down', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());
  afterEach(() => jest.restoreAllMocks());

  it(`issues exactly ${QUANTITY} when the gate admits everyone`, async () => {
    const { couponId } = await createCoupon(t);
    jest.spyOn(t.app.services.couponGate, 'admit').mockResolvedValue('admitted');
    await expectExactlyTheQuantity(t, couponId, await rush([t], couponId));
  });

  it(`issues exactly ${QUANTITY} when every gate call fails`, async () => {
    const { couponId } = await createCoupon(t);
    const gate = t.app.services.couponGate;
    for (const method of ['admit', 'seed', 'confirm', 'release', 'markSoldOut'] as const) {
      jest.spyOn(gate, method).mockRejectedValue(new Error('connection is closed'));
    }
    await expectExactlyTheQuantity(t, couponId, await rush([t], couponId));
  });

  it('gives the place back when the store refuses an admitted request', async () => {
    const { couponId } = await createCoupon(t, { totalQuantity: 1 });
    const gate = t.app.services.couponGate;
    const [winner, loser] = rushTokens;
    // The gate wrongly thinks the winner is new: the store says already issued, and the gate learns it.
    expect((await issue(t, couponId, winner.token)).status).toBe(201);
    jest.spyOn(gate, 'admit').mockResolvedValueOnce('admitted');
    expect((await issue(t, couponId, winner.token)).body.code).toBe('COUPON_ALREADY_ISSUED');
    expect(await gate.admit(couponId, winner.userId)).toBe('already_issued');
    // Wrongly admitted while none are left: the store says sold out, and the gate turns everyone away from then on.
    jest.spyOn(gate, 'admit').mockResolvedValueOnce('admitted');
    expect((await issue(t, couponId, loser.token)).body.code).toBe('COUPON_SOLD_OUT');
    expect(await gate.admit(couponId, 'anyone')).toBe('sold_out');
  });

  it('frees the place of a request whose write failed', async () => {
    const { couponId } = await createCoupon(t, { totalQuantity: 1 });
    const [unlucky, next] = rushTokens;
    jest.spyOn(t.app.services.events, 'append').mockRejectedValueOnce(new Error('disk I/O error'));
    expect((await issue(t, couponId, unlucky.token)).status).toBe(500);
    // Had the gate kept the place, this would be sold out until the admission lease ran out.
    expect((await issue(t, couponId, next.token)).status).toBe(201);
    expect(await issuedUsers(t, couponId)).toEqual([next.userId]);
  });
});

describe('coupons: creating, reading, windows and expiry', () => {
  let current: Date;
  const clock: Clock = { now: () => current };
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    current = new Date(NOW);
    t = await startTestApp({ overrides: { clock } });
    admin = await t.tokenFor('the-admin', 'admin');
  });
  afterAll(async () => t.close());

  const at = (iso: string) => {
    current = new Date(iso);
  };
  const myCoupons = async (token: string, position: string, status?: string) => {
    const res = await t
      .http()
      .get('/me/coupons')
      .query(status ? { status } : {})
      .set(bearer(token))
      .set('X-Consistent-With', position);
    expect(res.status).toBe(200);
    return res.body.items as Array<Record<string, unknown>>;
  };

  const spec = () => httpSpec(t).given();
  const theAdmin = as('the-admin', 'admin');

  it('creates a coupon for an admin and shows it to anyone', async () => {
    const res = await spec()
      .when(
        theAdmin.post('/admin/coupons', {
          name: 'Ten percent',
          discount: { type: 'PERCENT', percent: 10, maxDiscount: 5000 },
          totalQuantity: 3,
          minOrderAmount: 20000,
          issueStartsAt: '2030-01-01T09:00:00+09:00',
          issueEndsAt: '2030-01-02T00:00:00Z',
          validDays: 7,
        }),
      )
      .then(201, { name: 'Ten percent' }, [
        { type: 'CouponCreated', data: { name: 'Ten percent', totalQuantity: 3, issueStartsAt: '2030-01-01T00:00:00.000Z', validDays: 7, occurredAt: NOW } },
        // Every answered admin write is also journalled on the admin's own stream.
        { type: 'AdminActionPerformed', stream: 'admin-the-admin', data: { method: 'POST', status: 201 } },
      ]);
    const terms = {
      name: 'Ten percent',
      discount: { type: 'PERCENT', percent: 10, maxDiscount: 5000 },
      totalQuantity: 3,
      minOrderAmount: 20000,
      issueStartsAt: '2030-01-01T00:00:00.000Z',
      issueEndsAt: '2030-01-02T00:00:00.000Z',
      validUntil: null,
      validDays: 7,
    };
    expect(res.body).toEqual({ couponId: expect.any(String), ...terms, createdAt: NOW, position: expect.any(String) });

    const view = await t.http().get(`/coupons/${res.body.couponId}`).set('X-Consistent-With', res.body.position);
    expect(view.status).toBe(200);
    expect(view.body).toEqual({ couponId: res.body.couponId, ...terms, issuedQuantity: 0, remainingQuantity: 3, createdAt: NOW });
  });

  it('creates nothing twice for one Idempotency-Key', async () => {
    const send = () =>
      t.http().post('/admin/coupons').set(bearer(admin)).set('Idempotency-Key', 'create-once').send({ name: 'Once', discount: { type: 'FIXED', amount: 500 }, totalQuantity: 5 });
    const first = await send();
    const again = await send();
    expect(first.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.couponId).toBe(first.body.couponId);
  });

  it('refuses customers (403) and writes nothing', async () => {
    await spec()
      .when(as('a-customer').post('/admin/coupons', { name: 'Mine', discount: { type: 'FIXED', amount: 1 }, totalQuantity: 1 }))
      .thenRefused(403, 'FORBIDDEN');
  });

  it.each<[string, Record<string, unknown>, ErrorCode]>([
    ['a zero percent', { discount: { type: 'PERCENT', percent: 0 } }, 'VALIDATION_FAILED'],
    ['a percent over 100', { discount: { type: 'PERCENT', percent: 101 } }, 'VALIDATION_FAILED'],
    ['an unknown discount type', { discount: { type: 'FREE' } }, 'VALIDATION_FAILED'],
    ['an unknown field', { colour: 'red' }, 'VALIDATION_FAILED'],
    ['a quantity over a million', { totalQuantity: 1_000_001 }, 'VALIDATION_FAILED'],
    ['a date without a zone', { issueStartsAt: '2030-01-02T00:00:00' }, 'VALIDATION_FAILED'],
    ['a window that ends before it starts', { issueStartsAt: '2030-01-03T00:00:00Z', issueEndsAt: '2030-01-02T00:00:00Z' }, 'COUPON_INVALID'],
    ['both validUntil and validDays', { validUntil: '2030-02-01T00:00:00Z', validDays: 3 }, 'COUPON_INVALID'],
    ['a validity already over', { validUntil: '2029-12-31T00:00:00Z' }, 'COUPON_INVALID'],
  ])('refuses %s with 400', async (_label, body, code) => {
    await spec()
      .when(theAdmin.post('/admin/coupons', { name: 'Bad', discount: { type: 'FIXED', amount: 1 }, totalQuantity: 1, ...body }))
      .thenRefused(400, code);
  });

  it('answers 404 for a coupon that does not exist', async () => {
    await spec().when(as('u1').post('/coupons/no-such-coupon/issue')).thenRefused(404, 'COUPON_NOT_FOUND');
    expect((await t.http().get('/coupons/no-such-coupon')).body).toMatchObject({ status: 404, code: 'COUPON_NOT_FOUND' });
  });

  it('issues only inside the window, and expires validDays after the issue', async () => {
    at(NOW);
    const { couponId } = await createCoupon(t, { issueStartsAt: '2030-01-01T01:00:00Z', issueEndsAt: '2030-01-01T02:00:00Z', validDays: 1 });
    const early = await t.tokenFor('early');
    const inTime = await t.tokenFor('in-time');
    const issueAs = (userId: string) => as(userId).post(`/coupons/${couponId}/issue`);

    await spec()
      .when(issueAs('early'))
      .thenRefused(409, 'COUPON_NOT_ISSUABLE', { issueStartsAt: '2030-01-01T01:00:00.000Z', issueEndsAt: '2030-01-01T02:00:00.000Z' });

    at('2030-01-01T01:00:00.000Z');
    const ok = await spec()
      .when(issueAs('in-time'))
      .then(201, {}, [
        {
          type: 'CouponIssued',
          stream: couponStream(couponId),
          data: { couponId, userCouponId: `${couponId}:in-time`, userId: 'in-time', validUntil: '2030-01-02T01:00:00.000Z', issuedQuantity: 1 },
        },
      ]);
    expect(ok.body).toEqual({ userCouponId: `${couponId}:in-time`, couponId, validUntil: '2030-01-02T01:00:00.000Z', position: expect.any(String) });

    at('2030-01-01T02:00:00.000Z');
    await spec().when(issueAs('late')).thenRefused(409, 'COUPON_NOT_ISSUABLE');
    // A refusal outside the window took no place: the one issued is the only one counted.
    const view = await t.http().get(`/coupons/${couponId}`).set('X-Consistent-With', ok.body.position);
    expect(view.body).toMatchObject({ issuedQuantity: 1, remainingQuantity: QUANTITY - 1 });

    const available = await myCoupons(inTime, ok.body.position, 'AVAILABLE');
    expect(available).toEqual([
      {
        userCouponId: `${couponId}:in-time`,
        couponId,
        name: 'Rush hour',
        discount: { type: 'FIXED', amount: 1000 },
        minOrderAmount: 0,
        validUntil: '2030-01-02T01:00:00.000Z',
        valid: true,
        used: false,
        status: 'AVAILABLE',
        issuedAt: '2030-01-01T01:00:00.000Z',
      },
    ]);
    expect(await myCoupons(inTime, ok.body.position, 'EXPIRED')).toEqual([]);

    at('2030-01-02T00:59:59.999Z');
    expect(await myCoupons(inTime, ok.body.position, 'AVAILABLE')).toHaveLength(1);
    at('2030-01-02T01:00:00.000Z');
    expect(await myCoupons(inTime, ok.body.position, 'AVAILABLE')).toEqual([]);
    expect(await myCoupons(inTime, ok.body.position, 'EXPIRED')).toEqual([{ ...available[0], valid: false, status: 'EXPIRED' }]);
    expect(await myCoupons(inTime, ok.body.position)).toHaveLength(1);
    expect(await myCoupons(early, ok.body.position)).toEqual([]);
  });

  it('gives every issue a fixed validUntil, and no expiry when neither is set', async () => {
    at(NOW);
    const fixed = await createCoupon(t, { validUntil: '2030-03-01T00:00:00Z' });
    const forever = await createCoupon(t);
    const token = await t.tokenFor('validity');
    expect((await issue(t, fixed.couponId, token)).body.validUntil).toBe('2030-03-01T00:00:00.000Z');
    const res = await issue(t, forever.couponId, token);
    expect(res.body.validUntil).toBeNull();
    at('2130-01-01T00:00:00.000Z');
    const items = await myCoupons(token, res.body.position, 'AVAILABLE');
    expect(items.map((item) => item.couponId)).toEqual([forever.couponId]);
    // Past its fixed validUntil the coupon can no longer be issued either.
    expect((await issue(t, fixed.couponId, await t.tokenFor('too-late'))).body.code).toBe('COUPON_NOT_ISSUABLE');
  });

  it('shows a coupon used by an order, and usable again once the order gives it back', async () => {
    at(NOW);
    const { couponId } = await createCoupon(t, { minOrderAmount: 5000 });
    const token = await t.tokenFor('shopper');
    const { userCouponId } = (await issue(t, couponId, token)).body;
    const commands = t.app.services.commands;
    const context = { metadata: { actorId: 'shopper', role: 'customer' } };
    const { state: campaign } = await commands.load(couponDecider, couponStream(couponId));
    // What payment and cancellation will put into their atomic appends.
    const used = await commands.handle(
      userCouponDecider,
      userCouponId,
      { type: 'UseCoupon', data: { userCouponId, userId: 'shopper', orderId: 'order-1', subtotal: 5000, now: NOW, campaign } },
      context,
    );
    const [usedItem] = await myCoupons(token, used.position!, 'USED');
    expect(usedItem).toMatchObject({ userCouponId, used: true, usedAt: NOW, orderId: 'order-1', valid: true, status: 'USED' });
    expect(await myCoupons(token, used.position!, 'AVAILABLE')).toEqual([]);

    const restored = await commands.handle(userCouponDecider, userCouponId, { type: 'RestoreCoupon', data: { userCouponId, orderId: 'order-1', now: NOW, campaign } }, context);
    const [again] = await myCoupons(token, restored.position!, 'AVAILABLE');
    expect(again).toMatchObject({ userCouponId, used: false, status: 'AVAILABLE' });
    expect(again).not.toHaveProperty('usedAt');
    expect(again).not.toHaveProperty('orderId');
  });

  it('replays an issue with the same Idempotency-Key, and refuses a second one without', async () => {
    at(NOW);
    const { couponId } = await createCoupon(t);
    const token = await t.tokenFor('retrier');
    const first = await issue(t, couponId, token).set('Idempotency-Key', 'issue-1');
    const replay = await issue(t, couponId, token).set('Idempotency-Key', 'issue-1');
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    await spec().when(as('retrier').post(`/coupons/${couponId}/issue`)).thenRefused(409, 'COUPON_ALREADY_ISSUED');
    expect(await issuedUsers(t, couponId)).toEqual(['retrier']);
  });

  it('pages through my coupons newest first, and rebuilding the read models changes nothing', async () => {
    at(NOW);
    const token = await t.tokenFor('collector');
    const coupons = [await createCoupon(t), await createCoupon(t), await createCoupon(t)];
    let position = '';
    for (const { couponId } of coupons) position = (await issue(t, couponId, token)).body.position;
    const everything = async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: Response = await t
          .http()
          .get('/me/coupons')
          .query({ limit: 2, ...(cursor ? { cursor } : {}) })
          .set(bearer(token))
          .set('X-Consistent-With', position);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((item: { couponId: string }) => item.couponId));
        cursor = res.body.nextCursor;
      } while (cursor);
      return seen;
    };
    expect(await everything()).toEqual(coupons.map((c) => c.couponId).reverse());

    const views = async () => {
      const coupon = await t.http().get(`/coupons/${coupons[0].couponId}`).set('X-Consistent-With', position);
      return [await myCoupons(token, position), coupon.body];
    };
    const before = await views();
    expect(before[1]).toMatchObject({ issuedQuantity: 1 });
    await t.app.projector.rebuild('user_coupons');
    await t.app.projector.rebuild('coupons');
    expect(await views()).toEqual(before);
  });
});

describe('the embedded gate after a restart', () => {
  it('is seeded from the log: holders and sold-out survive', async () => {
    const first = await startTestApp();
    const { couponId } = await createCoupon(first, { totalQuantity: 2 });
    const [a, b, c] = rushTokens;
    expect((await issue(first, couponId, a.token)).status).toBe(201);
    expect((await issue(first, couponId, b.token)).status).toBe(201);
    await first.stop();
    const second = await startTestApp({ dataDir: first.dataDir });
    try {
      expect(await second.app.services.couponGate.admit(couponId, c.userId)).toBe('unknown');
      expect((await issue(second, couponId, a.token)).body.code).toBe('COUPON_ALREADY_ISSUED');
      expect((await issue(second, couponId, c.token)).body.code).toBe('COUPON_SOLD_OUT');
      expect(await second.app.services.couponGate.admit(couponId, 'someone')).toBe('sold_out');
    } finally {
      await second.close();
    }
  });
});
