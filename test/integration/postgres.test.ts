/**
 * The HTTP API in-process on DATABASE_URL + REDIS_URL: the log, the read models, the data keys
 * and the idempotency keys on PostgreSQL (a schema of this run's own), the rest shared through Redis.
 */
import { randomBytes } from 'node:crypto';
import { verify } from '../../src/operations/verify';
import { errorToProblem } from '../../src/shared/http/errors';
import { DatabaseUnavailable, lockKey, lockNamespace, Postgres } from '../../src/shared/postgres';
import { bearer, REDIS_URL, startTestApp, TestApp } from '../support/app';
import { as, httpSpec } from '../support/http-spec';
import { describePostgres, TEST_POSTGRES_URL } from '../support/postgres';

describePostgres('the API on PostgreSQL and Redis', (pg) => {
  let a: TestApp;
  let b: TestApp;
  let admin: string;
  let shared: Record<string, string>;
  const env = () => ({
    DATABASE_URL: TEST_POSTGRES_URL,
    DATABASE_SCHEMA: pg().schema,
    REDIS_URL,
    REDIS_PREFIX: `eventmart-test:${pg().schema}:`,
    PAYER_KEY: randomBytes(32).toString('base64'),
  });

  beforeAll(async () => {
    shared = env();
    // Two instances at once: both migrate the one schema, neither fails.
    [a, b] = await Promise.all([startTestApp({ env: shared }), startTestApp({ env: { ...shared, RUN_PROJECTIONS: 'false' } })]);
    admin = await a.tokenFor('admin-1', 'admin');
  }, 30_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('serves every port that must be shared from PostgreSQL or Redis, and /ready names postgres', async () => {
    expect(a.app.composed.adapters).toMatchObject({ eventStore: 'postgres', documents: 'postgres', dataKeys: 'postgres', idempotency: 'postgres', locks: 'redis' });
    const ready = await a.http().get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'postgres' })]));
  });

  it('charges, checks out, places and pays across two instances, and reads its own writes', async () => {
    const product = await a.http().post('/admin/products').set(bearer(admin)).send({ name: 'Mug', price: 1_000, stock: 5 });
    expect(product.status).toBe(201);
    const token = await a.tokenFor('buyer');
    const charged = await b.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'charge-1').send({ amount: 10_000 });
    expect(charged.status).toBe(200);
    // The same key on the other instance is a replay, not a second charge.
    const again = await a.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'charge-1').send({ amount: 10_000 });
    expect(again.body).toEqual(charged.body);
    expect(again.body.position).toBe(charged.body.position);

    const paid = await a.http().post('/checkout').set(bearer(token)).send({ items: [{ productId: product.body.id, quantity: 2 }], payer: { name: 'Kim', phone: '010-0000-0000', email: 'kim@example.com' } });
    expect(paid.status).toBe(201);
    const placed = await b.http().post('/orders').set(bearer(token)).send({ items: [{ productId: product.body.id, quantity: 1 }] });
    expect(placed.status).toBe(201);
    const payment = await a.http().post(`/orders/${placed.body.orderId}/payment`).set(bearer(token)).send({});
    expect(payment.status).toBe(200);
    expect(payment.body.status).toBe('PAID');

    // Instance b runs no projections: its reads wait for a's projector through PostgreSQL.
    const points = await b.http().get('/me/points').set(bearer(token)).set('X-Consistent-With', payment.body.position);
    expect(points.body).toMatchObject({ balance: 7_000 });
    const orders = await b.http().get('/me/orders').set(bearer(token)).set('X-Consistent-With', payment.body.position);
    expect(orders.body.items.map((o: { status: string }) => o.status)).toEqual(['PAID', 'PAID']);
    const mine = await b.http().get(`/me/orders/${paid.body.orderId}`).set(bearer(token)).set('X-Consistent-With', paid.body.position);
    expect(mine.body.payer).toMatchObject({ name: 'Kim' });
    const stock = await a.http().get(`/products/${product.body.id}`).set('X-Consistent-With', payment.body.position);
    expect(stock.body.stock).toBe(2);
  });

  it('replays a retried charge on an instance with another REDIS_PREFIX: the key lives in PostgreSQL', async () => {
    const token = await a.tokenFor('retrier');
    const charged = await a.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'charge-elsewhere').send({ amount: 500 });
    expect(charged.status).toBe(200);
    const c = await startTestApp({ env: { ...shared, REDIS_PREFIX: `eventmart-test:${pg().schema}:other:`, RUN_PROJECTIONS: 'false' } });
    try {
      const again = await c.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'charge-elsewhere').send({ amount: 500 });
      expect([again.status, again.body]).toEqual([200, charged.body]);
      expect(again.body.position).toBe(charged.body.position);
    } finally {
      await c.close();
    }
  });

  it('answers 503 STORE_UNAVAILABLE, not 500, when an append meets the statement timeout, and writes nothing until the retry', async () => {
    const impatient = await startTestApp({ env: { ...shared, DATABASE_STATEMENT_TIMEOUT_MS: '300', RUN_PROJECTIONS: 'false' } });
    const holder = await pg().pool.connect();
    try {
      // Another writer holding the append lock past the statement timeout: the append_batch behind it is cancelled (57014).
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(${lockNamespace}, ${lockKey(pg().schema, 'append')})`);
      const charge = as('timed-out').post('/me/points/charge', { amount: 700 }, { 'Idempotency-Key': 'slow-charge' });
      const refused = await httpSpec(impatient).given().when(charge).thenRefused(503, 'STORE_UNAVAILABLE');
      expect(refused.headers['retry-after']).toBe('1');
      await holder.query('ROLLBACK');
      const token = await impatient.tokenFor('timed-out');
      const retried = await impatient.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'slow-charge').send({ amount: 700 });
      expect([retried.status, retried.body.balance]).toEqual([200, 700]);
      expect((await impatient.app.services.events.readStream('wallet-timed-out')).map((e) => e.type)).toEqual(['PointsCharged']);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      await impatient.close();
    }
  });

  it('verifies the read models against a replay, and again after rebuilding one', async () => {
    await a.app.projector.catchUp();
    expect((await verify(a.app.services)).ok).toBe(true);
    await a.app.projector.rebuild('balances');
    expect((await verify(a.app.services)).ok).toBe(true);
  });
});

describe('PostgreSQL that does not answer', () => {
  // Nothing listens on port 1 of loopback: connections are refused at once.
  const nowhere = 'postgres://postgres@127.0.0.1:1/postgres';

  it('stops start-up with a message naming DATABASE_URL', async () => {
    await expect(startTestApp({ env: { DATABASE_URL: nowhere, REDIS_URL, PAYER_KEY: randomBytes(32).toString('base64') } })).rejects.toThrow(/^DATABASE_URL: PostgreSQL does not answer/);
  });

  it('fails a statement with DatabaseUnavailable, which the API answers with 503 STORE_UNAVAILABLE', async () => {
    const lost = new Postgres({ url: nowhere, schema: 'nowhere' });
    const failure = await lost.query('SELECT 1').catch((error: unknown) => error);
    await lost.close();
    expect(failure).toBeInstanceOf(DatabaseUnavailable);
    expect(errorToProblem(failure)).toMatchObject({ status: 503, body: { code: 'STORE_UNAVAILABLE' }, headers: { 'Retry-After': '1' } });
  });
});
