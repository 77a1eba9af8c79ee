import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import helmet from 'helmet';
import pino from 'pino';
import request from 'supertest';
import { z, ZodType } from 'zod';
import { DATA_PLATFORM_DELIVERIES, DeliveryDoc } from '../../projections/data-platform-outbox';
import { createEventmart } from '../../src/app';
import { ConfigError, loadConfig } from '../../src/shared/config';
import { EventStore } from '../../src/shared/eventstore/port';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { RouteDefinition } from '../../src/shared/http/route';
import { bearer, startTestApp, TEST_JWT_SECRET, TestApp } from '../support/app';
import { eventually } from '../support/eventually';
import { answering, as, HttpCall, httpSpec } from '../support/http-spec';
import { ErrorCode } from '../../src/shared/http/problem';
import { ADMIN, declaredFields, defOf, PAYER, pathFor, seedShop, sender, Shop, USER_A, USER_B, validBody } from './security.support';

/** A pino logger that keeps every line, at every level. */
function capturedLogger() {
  const lines: string[] = [];
  return { logger: pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) }), text: () => lines.join('') };
}

/** Every file under the data directory, as bytes read as latin1 (clear text shows up as is). */
function filesUnder(dir: string): Array<[string, string]> {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => [entry.name, readFileSync(join(entry.parentPath, entry.name)).toString('latin1')]);
}

describe('production mode', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventmart-prod-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it.each([
    [{}, 'JWT_SECRET'],
    [{ JWT_SECRET: TEST_JWT_SECRET }, 'PAYER_KEY'],
    [{ JWT_SECRET: TEST_JWT_SECRET, PAYER_KEY: randomBytes(32).toString('base64'), AUTH_DEV_TOKENS: 'true' }, 'AUTH_DEV_TOKENS'],
  ])('refuses to start with %p (names %s)', (env, variable) => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir(), ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: dataDir(), ...env })).toThrow(variable);
  });

  it('starts with its secrets configured, offers no dev tokens, and keeps no generated key on disk', async () => {
    const dir = dataDir();
    const config = loadConfig({ NODE_ENV: 'production', DATA_DIR: dir, JWT_SECRET: TEST_JWT_SECRET, PAYER_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'silent' });
    const app = await createEventmart(config);
    try {
      expect(config.devTokens).toBe(false);
      const minted = await request(app.http).post('/auth/dev-token').send({ userId: 'mallory', role: 'admin' });
      expect(minted.status).toBe(404);
      expect(Object.keys((await request(app.http).get('/openapi.json')).body.paths)).not.toContain('/auth/dev-token');
      const token = await app.tokens.issue({ userId: 'prod-user', role: 'customer' });
      expect((await request(app.http).get('/me/points').set(bearer(token))).body).toEqual({ userId: 'prod-user', balance: 0 });
      expect(readdirSync(dir)).not.toEqual(expect.arrayContaining(['jwt-secret']));
      expect(readdirSync(dir)).not.toEqual(expect.arrayContaining(['payer-key']));
    } finally {
      await app.close();
    }
  });
});

describe('no secrets in logs, no clear payer data on disk', () => {
  it('after a full flow, the log and every file under DATA_DIR hold neither tokens, keys nor payer fields', async () => {
    const logs = capturedLogger();
    const payerKey = randomBytes(32).toString('base64');
    const t = await startTestApp({ env: { PAYER_KEY: payerKey }, overrides: { logger: logs.logger } });
    const tokens: string[] = [];
    try {
      const mint = async (userId: string, role: string) => {
        const res = await t.http().post('/auth/dev-token').send({ userId, role });
        expect(res.status).toBe(200);
        tokens.push(res.body.token);
        return res.body.token as string;
      };
      const admin = await mint('log-admin', 'admin');
      const customer = await mint('log-customer', 'customer');
      const shop = await seedShop(t);
      tokens.push(shop.admin, shop.customerA, shop.customerB);

      const product = (await t.http().post('/admin/products').set(bearer(admin)).send({ name: 'Kettle', price: 100, stock: 10 })).body.id;
      expect((await t.http().post('/me/points/charge').set(bearer(customer)).send({ amount: 10_000 })).status).toBe(200);
      const placed = await t.http().post('/orders').set(bearer(customer)).send({ items: [{ productId: product, quantity: 1 }] });
      const paid = await t.http().post(`/orders/${placed.body.orderId}/payment`).set(bearer(customer)).set('Idempotency-Key', 'log-pay').send({ payer: PAYER });
      expect(paid.status).toBe(200);
      const mine = await t.http().get(`/me/orders/${placed.body.orderId}`).set(bearer(customer)).set('X-Consistent-With', paid.body.position);
      expect(mine.body.payer).toEqual(PAYER);
      const bad = await t.http().post('/checkout').set(bearer(customer)).send({ items: [{ productId: product, quantity: 1 }], payer: { ...PAYER, email: 'not-an-email' } });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body)).not.toContain(PAYER.phone);
      expect((await t.http().post(`/orders/${placed.body.orderId}/cancel`).set(bearer(customer))).status).toBe(200);
      expect((await t.http().get('/me/points').set(bearer(`${customer}x`))).status).toBe(401);
      const audit = await t.http().get(`/admin/streams/order-${placed.body.orderId}`).set(bearer(admin));
      expect(audit.status).toBe(200);

      const forbidden = [...tokens, TEST_JWT_SECRET, payerKey, Buffer.from(payerKey, 'base64').toString('hex'), PAYER.name, PAYER.phone, PAYER.email];
      const onDisk = () => filesUnder(t.dataDir);
      expect(onDisk().map(([name]) => name)).toEqual(expect.arrayContaining(['events.db', 'events.db-wal', 'readmodels.db', 'readmodels.db-wal', 'keys.db']));
      for (const [name, content] of onDisk()) for (const secret of [PAYER.name, PAYER.phone, PAYER.email]) expect(`${name}: ${content.includes(secret)}`).toBe(`${name}: false`);

      const logText = logs.text();
      expect(logText).toContain('request completed');
      expect(logText).toContain('[Redacted]');
      for (const secret of forbidden) expect(logText.includes(secret) ? `the log shows ${secret.slice(0, 12)}…` : null).toBeNull();

      await t.stop();
      // Checkpointed on close: what was in the WAL is now in the main files.
      for (const [name, content] of onDisk()) for (const secret of [PAYER.name, PAYER.phone, PAYER.email]) expect(`${name}: ${content.includes(secret)}`).toBe(`${name}: false`);
    } finally {
      await t.close();
    }
  });
});

/** An event store that lets a test force a failure or hold appends until it says so. */
function controllableEvents(inner: EventStore) {
  let held: { release: () => void; gate: Promise<void> } | null = null;
  const arrivals: Array<() => void> = [];
  const landings: Array<() => void> = [];
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'readStream') {
        return (stream: string, from?: bigint) => (stream === 'wallet-explode' ? Promise.reject(new Error('disk on fire at /srv/secret/path.ts:42')) : target.readStream(stream, from));
      }
      if (property === 'append') {
        return async (writes: Parameters<EventStore['append']>[0]) => {
          if (held && writes.some((write) => write.stream.startsWith('wallet-'))) {
            arrivals.splice(0).forEach((arrived) => arrived());
            await held.gate;
          }
          const result = await target.append(writes);
          landings.splice(0).forEach((landed) => landed());
          return result;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store,
    hold() {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      held = { gate, release };
    },
    release() {
      held?.release();
      held = null;
    },
    /** Settles when the next held append reaches the gate. */
    arrived: () => new Promise<void>((resolve) => arrivals.push(resolve)),
    /** Settles when the next append has been written. */
    landed: () => new Promise<void>((resolve) => landings.push(resolve)),
  };
}

describe('errors, headers and deadlines', () => {
  let t: TestApp;
  let events: ReturnType<typeof controllableEvents>;
  const logs = capturedLogger();
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'eventmart-test-'));
    events = controllableEvents(new SqliteEventStore(join(dataDir, 'events.db'), { synchronous: 'NORMAL' }));
    t = await startTestApp({ dataDir, env: { REQUEST_TIMEOUT_MS: '300' }, overrides: { events: events.store, logger: logs.logger } });
  });
  afterAll(async () => {
    events.release();
    await t.close();
  });

  const spec = () => httpSpec(t).given();

  it('answers an internal failure with a bare problem: no stack, no message, no paths; the log has them', async () => {
    const res = await spec().when(as('explode').post('/me/points/charge', { amount: 1 })).thenRefused(500, 'INTERNAL');
    expect(Object.keys(res.body).sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
    expect(res.text).not.toMatch(/disk on fire|\/srv|\.ts:|\bat \w|stack/i);
    expect(logs.text()).toContain('disk on fire');
  });

  it('sends the security headers and no framework banner', async () => {
    const res = await spec().when(as('anonymous').get('/products')).then(200);
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    // Every header helmet itself sends, with its value (they are worked out once at start-up).
    const plain = express().use(helmet()).get('/', (_req, r) => void r.send('ok'));
    const reference = (await request(plain).get('/')).headers;
    const helmetNames = Object.keys(reference).filter((name) => !['content-type', 'content-length', 'etag', 'date', 'connection', 'keep-alive'].includes(name));
    expect(helmetNames.length).toBeGreaterThan(8);
    for (const name of helmetNames) expect([name, res.headers[name]]).toEqual([name, reference[name]]);
  });

  it('answers a read still running after REQUEST_TIMEOUT_MS with 503 REQUEST_TIMEOUT', async () => {
    // Waiting for a position the log will not reach for a while: longer than the deadline.
    const res = await spec()
      .when(as('reader').get('/me/points', undefined, { 'X-Consistent-With': '99999999999999999999' }))
      .thenRefused(503, 'REQUEST_TIMEOUT', { pending: false });
    expect(res.headers['retry-after']).toBe('1');
  });

  it('answers a slow write sent with an Idempotency-Key 503 while it runs, then replays its outcome once it lands', async () => {
    const token = await t.tokenFor('slow-writer');
    const charge = () => t.http().post('/me/points/charge').set(bearer(token)).set('Idempotency-Key', 'slow-1').send({ amount: 40 });
    events.hold();
    const arrived = events.arrived();
    const first = await charge();
    await arrived;
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({ code: 'REQUEST_TIMEOUT', pending: true });
    expect(await t.app.services.events.readStream('wallet-slow-writer')).toEqual([]);
    expect((await charge()).body.code).toBe('IDEMPOTENCY_KEY_IN_USE');

    const landed = events.landed();
    events.release();
    await landed;
    // The append has landed; the key records it right after.
    const replay = await eventually(charge, (res) => res.body.code !== 'IDEMPOTENCY_KEY_IN_USE', 10_000, 'the key to record the landed charge');
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toMatchObject({ balance: 40, charged: 40 });
    expect(await t.app.services.events.readStream('wallet-slow-writer')).toHaveLength(1);
  });

  it('answers a slow write without an Idempotency-Key with its real outcome, however late', async () => {
    events.hold();
    const arrived = events.arrived();
    let answered = false;
    const patient = t
      .http()
      .post('/me/points/charge')
      .set(bearer(await t.tokenFor('patient')))
      .send({ amount: 7 })
      .then((res) => {
        answered = true;
        return res;
      });
    await arrived;
    // Sent after the patient write was already held, and timed out: the patient one is past its deadline too.
    const later = await t.http().post('/me/points/charge').set(bearer(await t.tokenFor('impatient'))).set('Idempotency-Key', 'k').send({ amount: 1 });
    expect(later.body.code).toBe('REQUEST_TIMEOUT');
    expect(answered).toBe(false);
    events.release();
    const res = await patient;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ balance: 7 });
  });
});

describe('admin actions are audited; payer data stays sealed in the audit view', () => {
  let t: TestApp;
  let shop: Shop;
  beforeAll(async () => {
    t = await startTestApp({ env: { DELIVERY_WORKERS: '0' } });
    shop = await seedShop(t);
  });
  afterAll(async () => t.close());

  const journal = async (adminId: string) => {
    const res = await t.http().get(`/admin/streams/admin-${adminId}`).set(bearer(shop.admin));
    return res.status === 404 ? [] : (res.body.events as Array<{ type: string; data: Record<string, unknown>; metadata: Record<string, unknown> }>);
  };

  it('shows the OrderPaid payer only as ciphertext with its key id', async () => {
    const sealed = { keyId: expect.stringMatching(/^dk-/), ciphertext: expect.any(String) };
    const res = await httpSpec(t)
      .given()
      .when(as(ADMIN, 'admin').get(`/admin/streams/order-${shop.orderId}`))
      .then(200, { events: expect.arrayContaining([expect.objectContaining({ type: 'OrderPaid', data: expect.objectContaining({ payer: sealed }) })]) });
    for (const field of Object.values(PAYER)) expect(res.text).not.toContain(field);
  });

  it("records every admin action with the admin's id, and a refused one not at all", async () => {
    const dead: DeliveryDoc = {
      id: 'dead-delivery',
      orderId: shop.orderId,
      eventType: 'OrderPaid',
      stream: `order-${shop.orderId}`,
      revision: '1',
      position: shop.position,
      occurredAt: new Date().toISOString(),
      status: 'DEAD',
      attempts: 10,
      lastError: 'down',
      deliveredAt: null,
      updatedAt: new Date().toISOString(),
    };
    await t.app.services.documents.write([{ kind: 'upsert', collection: DATA_PLATFORM_DELIVERIES, doc: dead }]);
    const auditor = as('auditor-1', 'admin');
    const actions: HttpCall[] = [
      answering(201, auditor.post('/admin/products', { name: 'Audited', price: 1, stock: 1 })),
      answering(200, auditor.patch(`/admin/products/${shop.productId}`, { price: 1_234 })),
      answering(200, auditor.post(`/admin/products/${shop.productId}/restock`, { quantity: 3 })),
      answering(201, auditor.post('/admin/coupons', { name: 'Audited', discount: { type: 'PERCENT', percent: 5 }, totalQuantity: 3 })),
      answering(202, auditor.post('/admin/projections/orders/rebuild')),
      answering(202, auditor.post('/admin/data-platform/deliveries/dead-delivery/retry')),
      answering(200, auditor.post('/admin/users/sec-bob/forget-payment-data')),
      answering(200, auditor.post('/admin/payment-data/rewrap-keys')),
    ];
    // The refused action writes nothing, not even to the journal.
    await httpSpec(t)
      .given(...actions)
      .when(auditor.post('/admin/products/nope/restock', { quantity: 1 }))
      .thenRefused(404, 'PRODUCT_NOT_FOUND');

    const entries = await journal('auditor-1');
    expect(entries.map((e) => [e.type, e.data.method, e.data.status])).toEqual(actions.map(({ method, answers }) => ['AdminActionPerformed', method.toUpperCase(), answers]));
    expect(entries.map((e) => e.data.route)).toEqual([
      '/admin/products',
      '/admin/products/{id}',
      '/admin/products/{id}/restock',
      '/admin/coupons',
      '/admin/projections/{name}/rebuild',
      '/admin/data-platform/deliveries/{id}/retry',
      '/admin/users/{userId}/forget-payment-data',
      '/admin/payment-data/rewrap-keys',
    ]);
    expect(entries[5].data.params).toEqual({ id: 'dead-delivery' });
    for (const entry of entries) expect(entry.metadata).toEqual({ actorId: 'auditor-1', role: 'admin' });

    // The event-sourced actions carry the admin in their own events too.
    const productEvents = await t.app.services.events.readStream(`product-${shop.productId}`);
    expect(productEvents.slice(-2).map((e) => e.metadata)).toEqual([
      { actorId: 'auditor-1', role: 'admin' },
      { actorId: 'auditor-1', role: 'admin' },
    ]);
    const forgotten = await t.app.services.events.readStream('privacy-sec-bob');
    expect(forgotten.map((e) => [e.type, e.metadata.actorId])).toEqual([['PaymentDataForgotten', 'auditor-1']]);
  });
});

describe('request bodies and queries', () => {
  let t: TestApp;
  let shop: Shop;
  beforeAll(async () => {
    t = await startTestApp();
    shop = await seedShop(t);
  });
  afterAll(async () => t.close());

  const spec = () => httpSpec(t).given();
  const writeRoutes = () => t.app.routes.filter((route) => route.method !== 'get');
  const tokenFor = (route: RouteDefinition) => (route.access === 'admin' ? shop.admin : shop.customerA);

  it('has a known-good body for every write route that takes one', () => {
    const missing = writeRoutes().filter((route) => route.body && !validBody(route, shop));
    expect(missing.map((route) => `${route.method} ${route.path}`)).toEqual([]);
  });

  it('refuses balance, price, status, user id and other fields a client must not set, on every write route, and writes nothing', async () => {
    const smuggled: Record<string, unknown> = { balance: 1e9, price: 0, status: 'PAID', userId: 'sec-bob', role: 'admin', stock: 1e6, total: 0, discount: 1e9, paidAt: '2020-01-01T00:00:00Z', id: 'mine' };
    const send = sender(t);
    const failures: string[] = [];
    for (const route of writeRoutes()) {
      const url = pathFor(route, shop);
      const base = validBody(route, shop) ?? {};
      const sane = await send(route.method, url).set(bearer(tokenFor(route))).send(base);
      if (sane.status === 400) failures.push(`${route.method} ${route.path}: the known-good body gets 400 ${JSON.stringify(sane.body.errors)}`);
      const head = await t.app.services.events.headPosition();
      for (const [field, value] of Object.entries(smuggled)) {
        if (declaredFields(route.body).includes(field)) continue;
        const res = await send(route.method, url).set(bearer(tokenFor(route))).send({ ...base, [field]: value });
        if (res.status !== 400 || res.body.code !== 'VALIDATION_FAILED') failures.push(`${route.method} ${route.path} with ${field}: ${res.status}`);
      }
      if ((await t.app.services.events.headPosition()) !== head) failures.push(`${route.method} ${route.path}: a refused request wrote to the log`);
    }
    expect(failures).toEqual([]);
  });

  it.each(['/me/points?admin=true', '/me/orders?userId=sec-alice', '/products?limit=5&all=1'])('refuses unknown query fields, on reads that declare no query too: %s', async (url) => {
    await spec().when(as(USER_B).get(url)).thenRefused(400, 'VALIDATION_FAILED');
  });

  it('bounds every string and list and forbids unknown fields in every schema of every route', () => {
    const loose = t.app.routes.flatMap((route) =>
      (['params', 'query', 'body'] as const).flatMap((part) => (route[part] ? unbounded(route[part]!, `${route.method} ${route.path} ${part}`) : [])),
    );
    expect(loose).toEqual([]);
  });

  const oversized: Array<[string, () => HttpCall, number, ErrorCode]> = [
    ['a product name of 10,000 characters', () => as(ADMIN, 'admin').post('/admin/products', { name: 'x'.repeat(10_000), price: 1, stock: 1 }), 400, 'VALIDATION_FAILED'],
    ['an order of 51 lines', () => as(USER_A).post('/checkout', { items: Array.from({ length: 51 }, (_, i) => ({ productId: `p${i}`, quantity: 1 })) }), 400, 'VALIDATION_FAILED'],
    ["a payer's name of 101 characters", () => as(USER_A).post('/checkout', { items: [{ productId: shop.productId, quantity: 1 }], payer: { ...PAYER, name: 'n'.repeat(101) } }), 400, 'VALIDATION_FAILED'],
    ['a page of 101', () => as(USER_A).get('/me/orders?limit=101'), 400, 'VALIDATION_FAILED'],
    ['a body over the size limit', () => as(USER_A).post('/me/points/charge', { amount: 1, pad: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE'],
  ];
  it.each(oversized)('refuses what is too large: %s', async (_what, call, status, code) => {
    await spec().when(call()).thenRefused(status, code);
  });
});


/** Where a schema accepts an unbounded string or list, or an object with unknown fields. */
function unbounded(schema: ZodType, where: string): string[] {
  const def = defOf(schema);
  const checks = (def.checks as Array<{ _zod: { def: { check: string } } }> | undefined) ?? [];
  switch (def.type) {
    case 'string':
      return (schema as z.ZodString).maxLength === null ? [`${where}: a string without a maximum length`] : [];
    case 'array':
      return [
        ...(checks.some((c) => c._zod.def.check === 'max_length') ? [] : [`${where}: a list without a maximum length`]),
        ...unbounded(def.element as ZodType, `${where}[]`),
      ];
    case 'object':
      return [
        ...(defOf(def.catchall as ZodType)?.type === 'never' ? [] : [`${where}: an object that lets unknown fields through`]),
        ...Object.entries(def.shape as Record<string, ZodType>).flatMap(([key, value]) => unbounded(value, `${where}.${key}`)),
      ];
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
      return unbounded(def.innerType as ZodType, where);
    case 'pipe':
      return unbounded(def.in as ZodType, where);
    case 'union':
      return (def.options as ZodType[]).flatMap((option) => unbounded(option, where));
    case 'number':
    case 'boolean':
    case 'enum':
    case 'literal':
      return [];
    default:
      return [`${where}: a ${def.type} schema this check does not know`];
  }
}
