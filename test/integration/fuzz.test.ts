import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import pino from 'pino';
import { StoredEvent } from '../../src/shared/eventstore/port';
import { RouteDefinition } from '../../src/shared/http/route';
import { bearer, startTestApp, TestApp } from '../support/app';
import { declaredFields, PAYER, seedShop, sender, sendRaw, Shop } from './security.support';

const REQUESTS = 3_000;
const IN_FLIGHT = 16;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now());

/** A path parameter: one of the ids known when the request is sent (orders appear as the run goes), or any text. */
type Param = { readonly pick: number } | { readonly text: string };

interface Known {
  readonly productIds: string[];
  readonly userCouponIds: string[];
  readonly orderIds: string[];
}

interface FuzzRequest {
  readonly route: RouteDefinition;
  readonly caller: string | undefined;
  readonly params: Record<string, Param>;
  readonly body: { readonly json: unknown } | { readonly raw: string };
  readonly idempotencyKey: string | undefined;
}

/** Mostly `valid`, sometimes `invalid`: a body of several fields must often be all valid to reach the business rules. */
const usually = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>, odds = 5) =>
  fc.oneof({ weight: odds, arbitrary: valid }, { weight: 1, arbitrary: invalid }) as fc.Arbitrary<T | U>;

/** Values for the fields the write routes declare: mostly in the valid ranges, sometimes anything. */
function fieldValues(known: Known): Record<string, fc.Arbitrary<unknown>> {
  const wrongNumber = fc.oneof(fc.integer(), fc.double(), fc.constant(null), fc.string({ maxLength: 5 }), fc.constant(1e308));
  const int = (min: number, max: number) => usually(fc.integer({ min, max }), wrongNumber);
  const wrongText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.constant(''), fc.constant('x'.repeat(5_000)), fc.jsonValue());
  const text = usually(fc.string({ minLength: 1, maxLength: 30 }), wrongText);
  const instant = usually(fc.date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true }).map((d) => d.toISOString()), wrongText);
  // Several of these make one order: each is rarely wrong, or orders would almost never be valid.
  const item = usually(
    fc.record({ productId: usually(fc.constantFrom(...known.productIds), wrongText, 30), quantity: usually(fc.integer({ min: 1, max: 3 }), wrongNumber, 30) }),
    fc.jsonValue(),
    30,
  );
  return {
    amount: int(1, 20_000),
    name: text,
    price: int(0, 3_000),
    stock: int(0, 20),
    quantity: int(1, 20),
    totalQuantity: int(1, 5),
    minOrderAmount: int(0, 5_000),
    validDays: int(1, 30),
    issueStartsAt: instant,
    issueEndsAt: instant,
    validUntil: instant,
    discount: usually(
      fc.oneof(fc.record({ type: fc.constant('FIXED'), amount: int(1, 500) }), fc.record({ type: fc.constant('PERCENT'), percent: int(1, 100), maxDiscount: int(1, 500) }, { requiredKeys: ['type', 'percent'] })),
      fc.jsonValue(),
    ),
    items: usually(fc.uniqueArray(item, { minLength: 1, maxLength: 4, selector: (i) => JSON.stringify((i as { productId?: unknown })?.productId) }), fc.oneof(fc.array(item, { minLength: 49, maxLength: 52 }), fc.jsonValue())),
    // Absent more often than not (undefined drops out of the JSON): most coupons belong to someone else.
    userCouponId: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: usually(fc.constantFrom(...known.userCouponIds), wrongText) }),
    payer: usually(fc.constant(PAYER), fc.oneof(fc.record({ name: text, phone: text, email: text }, { requiredKeys: [] }), fc.jsonValue())),
    userId: text,
    role: usually(fc.constantFrom('customer', 'admin'), wrongText),
  };
}

interface Callers {
  readonly admin: string;
  readonly customers: readonly string[];
  /** No token, a broken one. */
  readonly strangers: ReadonlyArray<string | undefined>;
}

/** The ids a path parameter may pick from, by parameter name. */
const choicesFor = (name: string, known: Known, shop: Shop): readonly string[] =>
  ({ orderId: known.orderIds, id: known.productIds, couponId: [shop.couponId], name: ['orders', 'balances'], userId: ['fuzz-1', 'fuzz-2'] })[name] ?? [];

function requests(t: TestApp, callers: Callers, known: Known) {
  const values = fieldValues(known);
  const param: fc.Arbitrary<Param> = usually(fc.nat().map((pick) => ({ pick })), fc.string({ minLength: 1, maxLength: 80 }).map((text) => ({ text })));
  const anyone = fc.constantFrom(callers.admin, ...callers.customers, ...callers.strangers);
  const callerFor = (route: RouteDefinition) =>
    route.access === 'public' ? anyone : usually(route.access === 'admin' ? fc.constant(callers.admin) : fc.constantFrom(...callers.customers), anyone);
  const routes = t.app.routes.filter((route) => route.method !== 'get');
  return fc.constantFrom(...routes).chain((route) => {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
    const fields = declaredFields(route.body);
    const fieldArbitraries = Object.fromEntries(fields.map((field) => [field, values[field] ?? fc.jsonValue()]));
    const structured = fc.oneof({ weight: 3, arbitrary: fc.record(fieldArbitraries) }, { weight: 2, arbitrary: fc.record(fieldArbitraries, { requiredKeys: [] }) });
    const body = fc.oneof(
      { weight: 12, arbitrary: structured.map((json) => ({ json })) },
      { weight: 1, arbitrary: fc.tuple(structured, fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue(), { minKeys: 1, maxKeys: 2 })).map(([known, extra]) => ({ json: { ...extra, ...known } })) },
      { weight: 2, arbitrary: fc.jsonValue().map((json) => ({ json })) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((raw) => ({ raw })) },
    );
    return fc.record({
      route: fc.constant(route),
      caller: callerFor(route),
      params: fc.record(Object.fromEntries(params.map((name) => [name, param]))),
      body,
      idempotencyKey: fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('k1', 'k2', 'k3') }),
    }) as fc.Arbitrary<FuzzRequest>;
  });
}

describe('fuzzing every write endpoint', () => {
  let t: TestApp;
  let shop: Shop;
  beforeAll(async () => {
    t = await startTestApp();
    shop = await seedShop(t);
  });
  afterAll(async () => t.close());

  it(`answers ${REQUESTS} random and malformed requests with a 4xx problem or a success, never a 5xx; the invariants hold after (seed ${SEED})`, async () => {
    const customers = await Promise.all(['fuzz-1', 'fuzz-2', 'fuzz-3'].map((id) => t.tokenFor(id)));
    for (const token of customers) await t.http().post('/me/points/charge').set(bearer(token)).send({ amount: 50_000 });
    const callers: Callers = { admin: shop.admin, customers: [...customers, shop.customerA], strangers: [undefined, 'not.a.token'] };
    const productIds = [shop.productId];
    for (const stock of [1, 3, 5]) productIds.push((await t.http().post('/admin/products').set(bearer(shop.admin)).send({ name: `Scarce ${stock}`, price: 700, stock })).body.id);
    const known: Known = { productIds, userCouponIds: [shop.userCouponId, ...['fuzz-1', 'fuzz-2', 'fuzz-3'].map((id) => `${shop.couponId}:${id}`)], orderIds: [shop.orderId] };

    const send = sender(t);
    const failures: string[] = [];
    const samples = fc.sample(requests(t, callers, known), { numRuns: REQUESTS, seed: SEED });
    const resolve = (name: string, value: Param) => {
      if ('text' in value) return value.text;
      const choices = choicesFor(name, known, shop);
      return choices[value.pick % choices.length];
    };
    const fire = async ({ route, caller, params, body, idempotencyKey }: FuzzRequest) => {
      const url = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(resolve(name, params[name])));
      let req = send(route.method, url).set('Content-Type', 'application/json');
      if (caller) req = req.set(bearer(caller));
      if (idempotencyKey) req = req.set('Idempotency-Key', idempotencyKey);
      const res = await req.send('raw' in body ? body.raw : JSON.stringify(body.json));
      if (res.status === 201 && res.body.orderId) known.orderIds.push(res.body.orderId);
      const problem = res.status >= 400 && /application\/problem\+json/.test(res.headers['content-type'] ?? '') && typeof res.body.code === 'string';
      const ok = res.status < 300 && /application\/json/.test(res.headers['content-type'] ?? '');
      if (res.status >= 500 || !(problem || ok)) failures.push(`${route.method} ${url} ${JSON.stringify(body).slice(0, 200)} -> ${res.status} ${res.text.slice(0, 200)}`);
    };
    for (let i = 0; i < samples.length; i += IN_FLIGHT) await Promise.all(samples.slice(i, i + IN_FLIGHT).map(fire));
    expect(failures).toEqual([]);

    const log = await readWholeLog(t);
    expect(await invariantViolations(t, log, shop)).toEqual([]);
  });

  it('has an invariant check that sees an overdrawn wallet, oversold stock and an over-issued coupon', async () => {
    const log = await readWholeLog(t);
    let position = Number(log.at(-1)!.position);
    const event = (stream: string, type: string, data: Record<string, unknown>): StoredEvent => ({
      id: `forged-${position}`,
      stream,
      type,
      data,
      metadata: {},
      revision: 0n,
      position: String(++position).padStart(20, '0'),
    });
    const forged = [
      event('wallet-ghost', 'PointsUsed', { amount: 5, balanceAfter: -5 }),
      event('product-ghost', 'ProductRegistered', { stock: 1 }),
      event('product-ghost', 'StockDecreased', { quantity: 2, stockAfter: -1 }),
      event('coupon-ghost', 'CouponCreated', { totalQuantity: 1 }),
      event('coupon-ghost', 'CouponIssued', { userId: 'a' }),
      event('coupon-ghost', 'CouponIssued', { userId: 'b' }),
    ];
    const violations = await invariantViolations(t, [...log.slice(0, -1), ...forged, log.at(-1)!], shop);
    expect(violations).toEqual(
      expect.arrayContaining([
        'wallet-ghost: PointsUsed leaves -5, says -5',
        'product-ghost: StockDecreased leaves -1, says -1',
        'coupon-ghost: 2 issued of 1',
      ]),
    );
  });
});

/** Malformed escapes first: each is a mistake a client can make in a path. */
const ESCAPES = ['%', '%Z', '%ZZ', '%G0', '%E0%A4%A', '%C0%AF', '%FF', '%ED%A0%80', '%u1234', '%%', '%2', '%00', '%2F', '%20'];
const ENCODINGS = ['gzip', 'deflate', 'br', 'identity', 'GZIP', 'compress', 'zstd', 'x-unknown', 'gzip, gzip', ''] as const;
const ENCODERS: Record<string, (bytes: Buffer) => Buffer> = { gzip: gzipSync, GZIP: gzipSync, deflate: deflateSync, br: brotliCompressSync, 'gzip, gzip': (b) => gzipSync(gzipSync(b)) };
const encode = (name: string, bytes: Buffer) => ENCODERS[name]?.(bytes) ?? bytes;

describe('fuzzing paths and content encodings', () => {
  let t: TestApp;
  let shop: Shop;
  const errorLines: string[] = [];
  beforeAll(async () => {
    const logger = pino({ level: 'warn' }, { write: (line: string) => void (JSON.parse(line).level >= 50 && errorLines.push(line)) });
    t = await startTestApp({ overrides: { logger } });
    shop = await seedShop(t);
  });
  afterAll(async () => t.close());

  it(`answers malformed percent escapes on every route, and bodies in every content encoding (right, wrong, truncated, unknown), with a 4xx problem or a success; nothing logged as an error (seed ${SEED})`, async () => {
    const tokens = [shop.admin, shop.customerA];
    const segment = fc.oneof(
      fc.constantFrom(...ESCAPES),
      fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...ESCAPES), fc.string({ maxLength: 6 })).map(([a, e, b]) => `${encodeURIComponent(a)}${e}${encodeURIComponent(b)}`),
    );
    const path = fc.record({ route: fc.constantFrom(...t.app.routes), escape: segment, where: fc.nat() }).map(({ route, escape, where }) => {
      const parts = route.path.split('/');
      const at = 1 + (where % (parts.length - 1));
      return { method: route.method.toUpperCase(), path: parts.map((part, i) => (i === at ? escape : part.startsWith('{') ? 'x' : part)).join('/') };
    });
    const body = fc.record({
      json: fc.oneof(fc.constant({ amount: 3 }), fc.jsonValue()),
      encoding: fc.constantFrom(...ENCODINGS),
      // Declared one way, sent another (or not at all), or cut short.
      damage: fc.constantFrom('none', 'none', 'plain', 'truncated', 'garbage'),
    });
    const cases = fc.sample(fc.record({ path, body, token: fc.constantFrom(...tokens) }), { numRuns: 400, seed: SEED });
    const failures: string[] = [];
    for (const { path: target, body: sent, token } of cases) {
      const plain = Buffer.from(JSON.stringify(sent.json));
      const encoded = encode(sent.encoding, plain);
      const bytes = { none: encoded, plain, truncated: encoded.subarray(0, Math.max(1, encoded.length >> 1)), garbage: Buffer.from('\x1f\x8b\x08not really') }[sent.damage];
      const headers: Record<string, string> = { ...bearer(token), 'Content-Type': 'application/json', ...(sent.encoding ? { 'Content-Encoding': sent.encoding } : {}) };
      for (const [method, url, payload] of [
        [target.method, target.path, target.method === 'GET' ? undefined : bytes],
        ['POST', '/me/points/charge', bytes],
      ] as const) {
        const res = await sendRaw(t.baseUrl, method, url, headers, payload);
        const problem = res.status >= 400 && res.status < 500 && /application\/problem\+json/.test(res.type) && typeof res.body?.code === 'string';
        if (!(problem || res.status < 300)) failures.push(`${method} ${url} ${sent.encoding}/${sent.damage} -> ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(errorLines).toEqual([]);
  });
});

async function readWholeLog(t: TestApp): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  for (;;) {
    const page = await t.app.services.events.readAll(all.at(-1)?.position ?? null, 1_000);
    all.push(...page);
    if (page.length < 1_000) return all;
  }
}

/** Every rule the deciders promise, recomputed from the log alone and compared with the read models. */
async function invariantViolations(t: TestApp, log: StoredEvent[], shop: Shop): Promise<string[]> {
  const problems: string[] = [];
  const balances = new Map<string, number>();
  const stocks = new Map<string, number>();
  const coupons = new Map<string, { quantity: number; holders: Set<string> }>();
  for (const { stream, type, data } of log) {
    const d = data as Record<string, unknown> & { amount: number; quantity: number; stock: number; stockAfter: number; balanceAfter: number };
    if (stream.startsWith('wallet-')) {
      const balance = (balances.get(stream) ?? 0) + (type === 'PointsUsed' ? -d.amount : d.amount);
      balances.set(stream, balance);
      if (balance < 0 || balance !== d.balanceAfter) problems.push(`${stream}: ${type} leaves ${balance}, says ${d.balanceAfter}`);
    } else if (stream.startsWith('product-') && type !== 'ProductUpdated') {
      const delta = { ProductRegistered: d.stock, StockAdded: d.quantity, StockDecreased: -d.quantity, StockRestored: d.quantity }[type] ?? NaN;
      const stock = (stocks.get(stream) ?? 0) + delta;
      stocks.set(stream, stock);
      if (!(stock >= 0) || stock !== (d.stockAfter ?? d.stock)) problems.push(`${stream}: ${type} leaves ${stock}, says ${d.stockAfter ?? d.stock}`);
    } else if (stream.startsWith('coupon-') && type === 'CouponCreated') {
      coupons.set(stream, { quantity: d.totalQuantity as number, holders: new Set() });
    } else if (stream.startsWith('coupon-') && type === 'CouponIssued') {
      const coupon = coupons.get(stream)!;
      if (coupon.holders.has(d.userId as string)) problems.push(`${stream}: issued twice to ${d.userId}`);
      coupon.holders.add(d.userId as string);
      if (coupon.holders.size > coupon.quantity) problems.push(`${stream}: ${coupon.holders.size} issued of ${coupon.quantity}`);
    } else if (type === 'OrderPaid' && d.payer !== null && JSON.stringify(d.payer).includes(PAYER.phone)) {
      problems.push(`${stream}: the payer is in clear`);
    }
  }
  const head = log.at(-1)!.position;
  for (const [stream, balance] of balances) {
    const userId = stream.slice('wallet-'.length);
    const res = await t.http().get('/me/points').set(bearer(await t.tokenFor(userId))).set('X-Consistent-With', head);
    if (res.body.balance !== balance) problems.push(`${stream}: the read model says ${res.body.balance}, the log ${balance}`);
  }
  for (const [stream, stock] of stocks) {
    const res = await t.http().get(`/products/${stream.slice('product-'.length)}`).set('X-Consistent-With', head);
    if (res.body.stock !== stock) problems.push(`${stream}: the read model says ${res.body.stock}, the log ${stock}`);
  }
  if (!stocks.has(`product-${shop.productId}`) || balances.size < 4) problems.push('the fuzzing wrote less than the seed: the log was not read whole');
  return problems;
}
