import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { DATA_PLATFORM_DELIVERIES, DeliveryDoc } from '../../projections/data-platform-outbox';
import { Deliveries } from '../../src/data-platform/deliveries';
import { MockDataPlatform } from '../../src/data-platform/mock-server';
import { requeuePending } from '../../src/data-platform/workers';
import { bearer, REDIS_URL, startTestApp, TestApp } from '../support/app';
import { deliveryIds, eventually, History, mockPlatformAt, PAYER, seedOrder, SeededOrder } from './data-platform.support';
import { deleteKeys } from '../support/redis';

const WORKERS = 4;
const BREAKER_FAILURES = 5;
const HALF_OPEN_MS = 100;
const TIMEOUT_MS = 300;

/** Delivery settings scaled down so retries, the breaker and the reconciler play out in seconds. */
const FAST = {
  DATA_PLATFORM_TIMEOUT_MS: String(TIMEOUT_MS),
  QUEUE_LEASE_MS: '5000',
  DATA_PLATFORM_MAX_ATTEMPTS: '1000',
  DATA_PLATFORM_BACKOFF_BASE_MS: '5',
  DATA_PLATFORM_BACKOFF_MAX_MS: '50',
  DATA_PLATFORM_BREAKER_FAILURES: String(BREAKER_FAILURES),
  DATA_PLATFORM_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
  DATA_PLATFORM_RECONCILE_MS: '200',
  DELIVERY_WORKERS: String(WORKERS),
  DELIVERY_POLL_MS: '20',
};

const modes: Array<[string, Record<string, string>]> = [
  ['embedded', {}],
  ['with Redis', { REDIS_URL }],
];

type DeliveryItem = Pick<DeliveryDoc, 'id' | 'orderId' | 'eventType' | 'status' | 'attempts' | 'lastError' | 'deliveredAt'>;

/** Every delivery the admin API lists (in `status`, if given), through all pages. */
async function listDeliveries(t: TestApp, status?: string, position?: string): Promise<DeliveryItem[]> {
  const token = await t.tokenFor('ops', 'admin');
  const items: DeliveryItem[] = [];
  let cursor: string | null = null;
  do {
    const res: import('supertest').Response = await t
      .http()
      .get('/admin/data-platform/deliveries')
      .query({ limit: 20, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) })
      .set(bearer(token))
      .set(position ? { 'X-Consistent-With': position } : {});
    expect(res.status).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return items;
}

type Counts = Record<DeliveryDoc['status'], number>;

async function countDeliveries(t: TestApp, position?: string): Promise<Counts> {
  const res = await t
    .http()
    .get('/admin/data-platform/delivery-counts')
    .set(bearer(await t.tokenFor('ops', 'admin')))
    .set(position ? { 'X-Consistent-With': position } : {});
  expect(res.status).toBe(200);
  return res.body;
}

const tally = (items: readonly DeliveryItem[]): Counts => ({
  PENDING: items.filter((d) => d.status === 'PENDING').length,
  DELIVERED: items.filter((d) => d.status === 'DELIVERED').length,
  DEAD: items.filter((d) => d.status === 'DEAD').length,
});

const deliveryDoc = (t: TestApp, id: string) => t.app.services.documents.get<DeliveryDoc>(DATA_PLATFORM_DELIVERIES, id);

const seed = (t: TestApp, userId: string, history: History) => seedOrder(t.app.services.events, t.app.services.payers, userId, history);

/** Startup and cleanup of one app per describe, with its own mock platform and Redis keys. */
function appWithPlatform(env: Record<string, string>, settings: Record<string, string>) {
  const context = {} as { t: TestApp; mock: MockDataPlatform; platform: ReturnType<typeof mockPlatformAt> };
  beforeAll(async () => {
    context.mock = await MockDataPlatform.start();
    context.platform = mockPlatformAt(context.mock.url);
    context.t = await startTestApp({ env: { ...env, ...FAST, ...settings, DATA_PLATFORM_URL: context.mock.url } });
    // The Redis client connects in the background; tests that count on queueing need it up.
    await eventually(
      () => context.t.app.services.deliveryQueue.ping().then(() => true, () => false),
      (up) => up,
    );
  });
  afterAll(async () => {
    await context.t?.close();
    await context.mock?.close();
    if (env.REDIS_URL) {
      const redis = new Redis(env.REDIS_URL);
      await deleteKeys(redis, `{${context.t.app.services.config.REDIS_PREFIX}`);
      await redis.quit();
    }
  });
  return context;
}

describe.each(modes)('data-platform outbox (%s)', (_name, env) => {
  const app = appWithPlatform(env, {});

  it('delivers every paid and cancelled order exactly once through flaky and down spells, never with the payer', async () => {
    const { t, platform } = app;
    const history = (i: number): History =>
      i % 10 === 0 ? { cancelled: true } : i % 5 === 1 ? { paid: true, cancelled: true } : { failedPayment: i % 3 === 0, paid: true, coupon: i % 2 === 0 };
    const orders: SeededOrder[] = [];
    const place = async (from: number, to: number) => {
      for (let i = from; i < to; i++) orders.push(await seed(t, `user-${i % 7}`, history(i)));
    };

    await platform.mode('flaky');
    await place(0, 25);
    await eventually(
      () => platform.state(),
      (state) => state.accepted >= 5,
    );

    await platform.mode('down');
    const down = { at: Date.now(), received: (await platform.state()).received };
    await place(25, 50);
    // The outage itself: long enough for the breaker to open and be tried several times.
    await new Promise((resolve) => setTimeout(resolve, 8 * HALF_OPEN_MS));
    const up = { at: Date.now(), received: (await platform.state()).received };
    await platform.mode('up');
    // Without the breaker, four workers with 5-50 ms backoffs would send well over a hundred requests meanwhile.
    const allowed = BREAKER_FAILURES + WORKERS + Math.ceil((up.at - down.at) / HALF_OPEN_MS) + 1;
    expect(up.received - down.received).toBeGreaterThanOrEqual(BREAKER_FAILURES);
    expect(up.received - down.received).toBeLessThanOrEqual(allowed);

    const expected = orders.flatMap(deliveryIds);
    expect(expected.length).toBeGreaterThanOrEqual(50);
    const final = await eventually(
      () => platform.state(),
      (state) => expected.every((id) => (state.deliveries[id]?.accepted ?? 0) >= 1),
      30_000,
    );
    expect(Object.keys(final.deliveries).sort()).toEqual([...expected].sort());
    expect(Object.entries(final.deliveries).filter(([, record]) => record.accepted !== 1)).toEqual([]);
    expect(Object.values(final.deliveries).some((record) => record.received > 1)).toBe(true);

    const secrets = [PAYER.name, PAYER.phone, PAYER.email, ...orders.map((o) => o.ciphertext).filter((c): c is string => c !== null)];
    for (const { payload } of Object.values(final.deliveries)) {
      const text = JSON.stringify(payload);
      expect(text).not.toMatch(/payer/i);
      expect(secrets.filter((secret) => text.includes(secret))).toEqual([]);
    }
    const refunded = orders[1];
    expect(final.deliveries[refunded.ids.OrderPaid!].payload).toMatchObject({ orderId: refunded.orderId, eventType: 'OrderPaid', status: 'PAID', cancelledAt: null });
    expect(final.deliveries[refunded.ids.OrderCancelled!].payload).toMatchObject({ orderId: refunded.orderId, eventType: 'OrderCancelled', status: 'CANCELLED' });

    const last = orders[orders.length - 1].position;
    const delivered = await eventually(
      () => listDeliveries(t, 'DELIVERED', last),
      (items) => items.length === expected.length,
    );
    expect(delivered.map((d) => d.id).sort()).toEqual([...expected].sort());
    delivered.forEach((d) => expect(d).toMatchObject({ status: 'DELIVERED', attempts: expect.any(Number), deliveredAt: expect.any(String) }));
    expect(delivered.some((d) => d.attempts > 1 && d.lastError !== null)).toBe(true);
    expect(await listDeliveries(t, 'PENDING')).toEqual([]);
    expect(await listDeliveries(t, 'DEAD')).toEqual([]);
  });

  it('counts a request the platform does not answer in time as a failed attempt, and delivers once it answers', async () => {
    const { t, platform } = app;
    await platform.mode('slow', 10_000);
    const id = (await seed(t, 'slowpoke', { paid: true })).ids.OrderPaid!;
    const waiting = await eventually(
      () => deliveryDoc(t, id),
      (doc) => (doc?.attempts ?? 0) >= 1,
    );
    expect(waiting).toMatchObject({ status: 'PENDING', lastError: `no answer within ${TIMEOUT_MS} ms` });

    await platform.mode('up');
    await eventually(
      () => deliveryDoc(t, id),
      (doc) => doc?.status === 'DELIVERED',
    );
    const record = (await platform.state()).deliveries[id];
    expect(record.accepted).toBe(1);
    expect(record.received).toBeGreaterThan(1);
  });
});

describe.each(modes)('dead data-platform deliveries (%s)', (_name, env) => {
  const app = appWithPlatform(env, { DATA_PLATFORM_MAX_ATTEMPTS: '3', DATA_PLATFORM_BREAKER_FAILURES: '50' });

  it('go DEAD after the allowed attempts, and an admin retry delivers them', async () => {
    const { t, platform } = app;
    const admin = await t.tokenFor('ops', 'admin');
    await platform.mode('down');
    const order = await seed(t, 'unlucky', { paid: true });
    const id = order.ids.OrderPaid!;
    const [dead] = await eventually(
      () => listDeliveries(t, 'DEAD', order.position),
      (items) => items.length > 0,
    );
    expect(dead).toEqual({
      id,
      orderId: order.orderId,
      eventType: 'OrderPaid',
      status: 'DEAD',
      attempts: 3,
      lastError: 'the data platform answered 503',
      deliveredAt: null,
      occurredAt: '2025-01-01T00:00:02.000Z',
      updatedAt: expect.any(String),
    });
    expect((await platform.state()).deliveries[id]).toMatchObject({ received: 3, accepted: 0 });
    // The counts are the lists' lengths (read together until no earlier delivery is moving between them).
    const [before] = await eventually(
      () => Promise.all([countDeliveries(t, order.position), listDeliveries(t).then(tally)]),
      ([counted, listed]) => isDeepStrictEqual(counted, listed) && counted.PENDING === 0,
    );
    expect(before.DEAD).toBeGreaterThanOrEqual(1);

    await platform.mode('up');
    const retry = await t.http().post(`/admin/data-platform/deliveries/${id}/retry`).set(bearer(admin));
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ id, status: 'PENDING', attempts: 0, lastError: 'the data platform answered 503' });
    await eventually(
      () => deliveryDoc(t, id),
      (doc) => doc?.status === 'DELIVERED',
    );
    // One more request, the one that succeeded: nothing retried the delivery while it was DEAD.
    expect((await platform.state()).deliveries[id]).toMatchObject({ received: 4, accepted: 1 });
    expect(await deliveryDoc(t, id)).toMatchObject({ attempts: 1, deliveredAt: expect.any(String) });
    expect(await countDeliveries(t)).toEqual({ PENDING: 0, DELIVERED: before.DELIVERED + 1, DEAD: before.DEAD - 1 });

    const again = await t.http().post(`/admin/data-platform/deliveries/${id}/retry`).set(bearer(admin));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'DELIVERY_NOT_DEAD', status: 409 });
    const unknown = await t.http().post('/admin/data-platform/deliveries/no-such-delivery/retry').set(bearer(admin));
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('DELIVERY_NOT_FOUND');
  });

  it('are for admins only', async () => {
    const { t } = app;
    const customer = await t.tokenFor('someone');
    const list = await t.http().get('/admin/data-platform/deliveries').set(bearer(customer));
    expect(list.status).toBe(403);
    expect(list.body.code).toBe('FORBIDDEN');
    const retry = await t.http().post('/admin/data-platform/deliveries/any/retry').set(bearer(customer));
    expect(retry.status).toBe(403);
    expect((await t.http().get('/admin/data-platform/deliveries')).status).toBe(401);
    expect((await t.http().get('/admin/data-platform/delivery-counts').set(bearer(customer))).status).toBe(403);
    const bad = await t.http().get('/admin/data-platform/deliveries').query({ status: 'LOST' }).set(bearer(await t.tokenFor('ops', 'admin')));
    expect(bad.status).toBe(400);
  });
});

describe.each(modes)('data-platform reconciler (%s)', (_name, env) => {
  // No workers here: the test plays the part of the queue losing a job.
  const app = appWithPlatform(env, { DELIVERY_WORKERS: '0' });

  it('queues a PENDING delivery whose job was lost, once', async () => {
    const { t } = app;
    const { services } = t.app;
    expect(t.app.composed.adapters.deliveryQueue).toBe(env.REDIS_URL ? 'redis' : 'sqlite');
    const order = await seed(t, 'reconciled', { paid: true });
    const id = order.ids.OrderPaid!;
    expect((await listDeliveries(t, 'PENDING', order.position)).map((d) => d.id)).toEqual([id]);

    const [job] = await eventually(
      () => services.deliveryQueue.claim(10),
      (jobs) => jobs.length > 0,
    );
    expect(job.id).toBe(id);
    expect(await services.deliveryQueue.ack([job])).toBe(1);

    const deliveries = new Deliveries(services.documents, services.clock, services.config.DATA_PLATFORM_MAX_ATTEMPTS);
    expect(await requeuePending(deliveries, services.deliveryQueue)).toBe(1);
    expect(await requeuePending(deliveries, services.deliveryQueue)).toBe(0);
    expect((await services.deliveryQueue.claim(10)).map((j) => j.id)).toEqual([id]);
  });
});

describe('the built-in mock data platform', () => {
  it('receives the deliveries when no DATA_PLATFORM_URL is set, and stops with the app', async () => {
    const t = await startTestApp({ env: FAST });
    const { url } = t.app.dataPlatform;
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const id = (await seed(t, 'embedded', { paid: true })).ids.OrderPaid!;
      await eventually(
        () => mockPlatformAt(url).state(),
        (state) => state.deliveries[id]?.accepted === 1,
      );
    } finally {
      await t.close();
    }
    await expect(fetch(`${url}/_mock`)).rejects.toThrow();
  });
});
