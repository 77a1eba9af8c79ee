import { rmSync } from 'node:fs';
import request from 'supertest';
import { PRODUCTS, productCacheKeys, ProductDoc } from '../../projections/products';
import { ProductCommand } from '../../src/write/product/commands';
import { productDecider, productStream } from '../../src/write/product/decider';
import { ProductEvent } from '../../src/write/product/events';
import { DomainError } from '../../src/shared/domain/errors';
import { REDIS_URL, startTestApp, TestApp, bearer } from '../support/app';
import { eventually } from '../support/eventually';
import { as, httpSpec } from '../support/http-spec';
import { recorded } from '../../src/shared/eventstore/recorded';

type Product = { id: string; name: string; price: number; stock: number; status: 'ON_SALE' | 'SOLD_OUT' };
type Page<T> = { items: T[]; nextCursor: string | null };

const consistentWith = (position: string | undefined) => (position ? { 'X-Consistent-With': position } : {});

describe.each([
  ['embedded', {}],
  ['with Redis', { REDIS_URL }],
])('products (%s)', (_name, env) => {
  let t: TestApp;
  let admin: string;
  let customer: string;

  beforeAll(async () => {
    t = await startTestApp({ env });
    admin = await t.tokenFor('boss', 'admin');
    customer = await t.tokenFor('shopper');
  });
  afterAll(async () => t.close());

  const register = async (body: object = { name: 'Mug', price: 12_000, stock: 5 }) => {
    const res = await t.http().post('/admin/products').set(bearer(admin)).send(body);
    expect(res.status).toBe(201);
    return res.body as Product & { position: string };
  };
  const restock = async (id: string, quantity: number) => {
    const res = await t.http().post(`/admin/products/${id}/restock`).set(bearer(admin)).send({ quantity });
    expect(res.status).toBe(200);
    return res.body as Product & { position: string };
  };
  const getProduct = (id: string, position?: string) => t.http().get(`/products/${id}`).set(consistentWith(position));
  const getPage = async (query: { limit?: number; cursor?: string | null }, position?: string) => {
    const { cursor, ...rest } = query;
    const res = await t
      .http()
      .get('/products')
      .query({ ...rest, ...(cursor ? { cursor } : {}) })
      .set(consistentWith(position));
    expect(res.status).toBe(200);
    return res.body as Page<Product>;
  };
  /** Every product of the catalogue, page by page. */
  const allProducts = async (position: string | undefined, limit = 100) => {
    const items: Product[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<Product> = await getPage({ limit, cursor }, position);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  };
  /** Payment will do this inside its own atomic append; here the decider runs through the command handler alone. */
  const decide = (id: string, command: ProductCommand) =>
    t.app.services.commands.handle(productDecider, id, command, { metadata: { actorId: 'test-order', role: 'system' } });
  const decrease = (id: string, orderId: string, quantity: number) =>
    decide(id, { type: 'DecreaseStock', data: { productId: id, orderId, quantity, now: new Date().toISOString() } });
  const restore = (id: string, orderId: string) =>
    decide(id, { type: 'RestoreStock', data: { productId: id, orderId, now: new Date().toISOString() } });

  describe('admin writes', () => {
    const boss = as('boss', 'admin');
    const spec = () => httpSpec(t).given();
    /** Every answered admin write is also journalled on the admin's own stream (src/shared/auth/admin-journal.ts). */
    const journalled = (method: string, status: number) => ({ type: 'AdminActionPerformed', stream: 'admin-boss', data: { method, status } });

    it('registers a product, answering with it and the position of the write', async () => {
      const res = await spec()
        .when(boss.post('/admin/products', { name: 'Mug', price: 12_000, stock: 5 }))
        .then(201, { name: 'Mug', price: 12_000, stock: 5, status: 'ON_SALE' }, [{ type: 'ProductRegistered', data: { name: 'Mug', price: 12_000, stock: 5 } }, journalled('POST', 201)]);
      const created = res.body as Product & { position: string };
      expect(created).toEqual({ id: expect.any(String), name: 'Mug', price: 12_000, stock: 5, status: 'ON_SALE', position: expect.any(String) });
      const read = await getProduct(created.id, created.position);
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ id: created.id, name: 'Mug', price: 12_000, stock: 5, status: 'ON_SALE' });
    });

    it('stores the name trimmed and accepts the limits exactly', async () => {
      await spec()
        .when(boss.post('/admin/products', { name: `  ${'가'.repeat(200)}  `, price: 1_000_000_000, stock: 1_000_000 }))
        .then(201, { name: '가'.repeat(200), price: 1_000_000_000, stock: 1_000_000 }, [
          { type: 'ProductRegistered', data: { name: '가'.repeat(200), price: 1_000_000_000, stock: 1_000_000 } },
          journalled('POST', 201),
        ]);
    });

    it('registers a free product without stock as sold out', async () => {
      const res = await spec()
        .when(boss.post('/admin/products', { name: 'Sticker', price: 0, stock: 0 }))
        .then(201, { price: 0, stock: 0, status: 'SOLD_OUT' }, [{ type: 'ProductRegistered', data: { price: 0, stock: 0 } }, journalled('POST', 201)]);
      expect((await getProduct(res.body.id, res.body.position)).body.status).toBe('SOLD_OUT');
    });

    it('renames, reprices, or both', async () => {
      const { id } = await register({ name: 'Cup', price: 5_000, stock: 3 });
      const stream = productStream(id);
      const renamed = await spec()
        .when(boss.patch(`/admin/products/${id}`, { name: ' Big cup ' }))
        .then(200, {}, [{ type: 'ProductUpdated', stream, data: { productId: id, name: 'Big cup', price: 5_000 } }, journalled('PATCH', 200)]);
      expect(renamed.body).toEqual({ id, name: 'Big cup', price: 5_000, stock: 3, status: 'ON_SALE', position: expect.any(String) });
      await spec()
        .when(boss.patch(`/admin/products/${id}`, { price: 4_500 }))
        .then(200, { name: 'Big cup', price: 4_500 }, [{ type: 'ProductUpdated', stream, data: { name: 'Big cup', price: 4_500 } }, journalled('PATCH', 200)]);
      const both = await spec()
        .when(boss.patch(`/admin/products/${id}`, { name: 'Cup', price: 0 }))
        .then(200, { name: 'Cup', price: 0, stock: 3 }, [{ type: 'ProductUpdated', stream, data: { name: 'Cup', price: 0 } }, journalled('PATCH', 200)]);
      expect((await getProduct(id, both.body.position)).body).toEqual({ id, name: 'Cup', price: 0, stock: 3, status: 'ON_SALE' });
    });

    it('a change to nothing writes nothing and still answers with a position to read from', async () => {
      const created = await register({ name: 'Same', price: 1, stock: 1 });
      await spec()
        .when(boss.patch(`/admin/products/${created.id}`, { name: 'Same', price: 1 }))
        // Nothing on the product's stream: only the journal of who asked.
        .then(200, { position: created.position }, [journalled('PATCH', 200)]);
      expect(await t.app.services.events.readStream(productStream(created.id))).toHaveLength(1);
    });

    it('restocks, and a sold-out product is back on sale', async () => {
      const { id } = await register({ name: 'Rare', price: 100, stock: 0 });
      const res = await spec()
        .when(boss.post(`/admin/products/${id}/restock`, { quantity: 7 }))
        .then(200, {}, [{ type: 'StockAdded', stream: productStream(id), data: { productId: id, quantity: 7, stockAfter: 7 } }, journalled('POST', 200)]);
      expect(res.body).toEqual({ id, name: 'Rare', price: 100, stock: 7, status: 'ON_SALE', position: expect.any(String) });
      await spec()
        .when(boss.post(`/admin/products/${id}/restock`, { quantity: 3 }))
        .then(200, { stock: 10 }, [{ type: 'StockAdded', data: { quantity: 3, stockAfter: 10 } }, journalled('POST', 200)]);
    });

    it('keeps who did it on every admin event', async () => {
      const { id } = await register();
      await restock(id, 1);
      await t.http().patch(`/admin/products/${id}`).set(bearer(admin)).send({ price: 1 });
      const events = await t.app.services.events.readStream(productStream(id));
      expect(events.map((e) => e.type)).toEqual(['ProductRegistered', 'StockAdded', 'ProductUpdated']);
      events.forEach((e) => expect(e.metadata).toEqual({ actorId: 'boss', role: 'admin' }));
    });

    it('registers once for one Idempotency-Key, and restocks once', async () => {
      const body = { name: 'Once', price: 10, stock: 1 };
      const send = () => t.http().post('/admin/products').set(bearer(admin)).set('Idempotency-Key', 'register-once').send(body);
      const first = await send();
      const again = await send();
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      const other = await t.http().post('/admin/products').set(bearer(admin)).set('Idempotency-Key', 'register-once').send({ ...body, stock: 2 });
      expect(other.status).toBe(422);

      const id = first.body.id as string;
      const restockOnce = () => t.http().post(`/admin/products/${id}/restock`).set(bearer(admin)).set('Idempotency-Key', 'restock-once').send({ quantity: 4 });
      expect((await restockOnce()).body.stock).toBe(5);
      expect((await restockOnce()).body.stock).toBe(5);
      const events = await t.app.services.events.readStream(productStream(id));
      expect(events.map((e) => e.type)).toEqual(['ProductRegistered', 'StockAdded']);
    });

    it('answers 404 PRODUCT_NOT_FOUND for an unknown product, and writes nothing', async () => {
      await spec().when(boss.patch('/admin/products/nope', { price: 1 })).thenRefused(404, 'PRODUCT_NOT_FOUND');
      await spec().when(boss.post('/admin/products/nope/restock', { quantity: 1 })).thenRefused(404, 'PRODUCT_NOT_FOUND');
      const head = await t.app.services.events.headPosition();
      const answers = await Promise.all([
        t.http().patch('/admin/products/nope').set(bearer(admin)).send({ price: 1 }),
        t.http().post('/admin/products/nope/restock').set(bearer(admin)).send({ quantity: 1 }),
        t.http().get('/products/nope'),
        t.http().get('/admin/products/nope/stock-history').set(bearer(admin)),
      ]);
      for (const res of answers) {
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body.code).toBe('PRODUCT_NOT_FOUND');
      }
      expect(await t.app.services.events.headPosition()).toBe(head);
      expect(await t.app.services.events.readStream(productStream('nope'))).toEqual([]);
    });

    describe('bad input gets 400 and writes nothing', () => {
      const good = { name: 'Mug', price: 100, stock: 1 };
      const cases: Array<[string, 'post' | 'patch', string, unknown]> = [
        ['register: no body', 'post', '', undefined],
        ['register: missing stock', 'post', '', { name: 'Mug', price: 100 }],
        ['register: an unknown field', 'post', '', { ...good, status: 'ON_SALE' }],
        ['register: an empty name', 'post', '', { ...good, name: '' }],
        ['register: a blank name', 'post', '', { ...good, name: '   ' }],
        ['register: a name of 201 characters', 'post', '', { ...good, name: 'x'.repeat(201) }],
        ['register: a name that is not a string', 'post', '', { ...good, name: 42 }],
        ['register: a negative price', 'post', '', { ...good, price: -1 }],
        ['register: a fractional price', 'post', '', { ...good, price: 9.99 }],
        ['register: a price over 1,000,000,000', 'post', '', { ...good, price: 1_000_000_001 }],
        ['register: a price as a string', 'post', '', { ...good, price: '100' }],
        ['register: a negative stock', 'post', '', { ...good, stock: -1 }],
        ['register: a fractional stock', 'post', '', { ...good, stock: 0.5 }],
        ['register: a stock over 1,000,000', 'post', '', { ...good, stock: 1_000_001 }],
        ['update: an empty body', 'patch', '/existing', {}],
        ['update: an unknown field', 'patch', '/existing', { price: 1, stock: 100 }],
        ['update: a blank name', 'patch', '/existing', { name: ' ' }],
        ['update: a name of 201 characters', 'patch', '/existing', { name: 'x'.repeat(201) }],
        ['update: a negative price', 'patch', '/existing', { price: -5 }],
        ['update: a fractional price', 'patch', '/existing', { price: 0.5 }],
        ['restock: no quantity', 'post', '/existing/restock', {}],
        ['restock: zero', 'post', '/existing/restock', { quantity: 0 }],
        ['restock: negative', 'post', '/existing/restock', { quantity: -1 }],
        ['restock: fractional', 'post', '/existing/restock', { quantity: 1.5 }],
        ['restock: over 1,000,000', 'post', '/existing/restock', { quantity: 1_000_001 }],
        ['restock: an unknown field', 'post', '/existing/restock', { quantity: 1, stockAfter: 1 }],
      ];
      let existing: string;
      beforeAll(async () => {
        existing = (await register()).id;
      });

      it.each(cases)('%s', async (_label, method, suffix, body) => {
        const head = await t.app.services.events.headPosition();
        const url = `/admin/products${suffix.replace('/existing', `/${existing}`)}`;
        const req = t.http()[method](url).set(bearer(admin));
        const res = await (body === undefined ? req : req.send(body as object));
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: expect.any(Array) });
        expect(await t.app.services.events.headPosition()).toBe(head);
      });
    });

    describe('admin routes need an admin', () => {
      const routes: Array<[string, 'get' | 'post' | 'patch', (id: string) => string, object | undefined]> = [
        ['register', 'post', () => '/admin/products', { name: 'Mug', price: 1, stock: 1 }],
        ['update', 'patch', (id) => `/admin/products/${id}`, { price: 2 }],
        ['restock', 'post', (id) => `/admin/products/${id}/restock`, { quantity: 1 }],
        ['stock history', 'get', (id) => `/admin/products/${id}/stock-history`, undefined],
      ];
      let id: string;
      beforeAll(async () => {
        id = (await register()).id;
      });

      it.each(routes)('%s: 401 without a token, 403 for a customer, and nothing written', async (_label, method, path, body) => {
        const head = await t.app.services.events.headPosition();
        const send = (req: request.Test) => (body ? req.send(body) : req);
        const anonymous = await send(t.http()[method](path(id)));
        expect(anonymous.status).toBe(401);
        expect(anonymous.body.code).toBe('UNAUTHENTICATED');
        const asCustomer = await send(t.http()[method](path(id)).set(bearer(customer)));
        expect(asCustomer.status).toBe(403);
        expect(asCustomer.body.code).toBe('FORBIDDEN');
        expect(await t.app.services.events.headPosition()).toBe(head);
      });
    });
  });

  describe('catalogue', () => {
    it('lists products with their status, oldest first, one page at a time', async () => {
      const a = await register({ name: 'List A', price: 1, stock: 1 });
      const b = await register({ name: 'List B', price: 2, stock: 0 });
      const c = await register({ name: 'List C', price: 3, stock: 3 });
      const all = await allProducts(c.position, 2);
      const ours = all.filter((p) => [a.id, b.id, c.id].includes(p.id));
      expect(ours).toEqual([
        { id: a.id, name: 'List A', price: 1, stock: 1, status: 'ON_SALE' },
        { id: b.id, name: 'List B', price: 2, stock: 0, status: 'SOLD_OUT' },
        { id: c.id, name: 'List C', price: 3, stock: 3, status: 'ON_SALE' },
      ]);
      expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
      const firstPage = await getPage({}, c.position);
      expect(firstPage.items.length).toBe(Math.min(20, all.length));
    });

    it.each([
      ['limit 0', { limit: 0 }],
      ['limit 101', { limit: 101 }],
      ['a fractional limit', { limit: 1.5 }],
      ['a forged cursor', { cursor: 'not-a-cursor' }],
      ['an unknown parameter', { sort: 'price' }],
    ])('refuses %s with 400', async (_label, query) => {
      const res = await t.http().get('/products').query(query);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('pages over 250 products while more are added: each of them exactly once, in order', async () => {
      const existing: Array<Product & { position: string }> = [];
      for (let batch = 0; batch < 10; batch += 1) {
        existing.push(
          ...(await Promise.all(
            Array.from({ length: 25 }, (_, i) => register({ name: `Paged ${batch * 25 + i}`, price: batch * 25 + i, stock: 1 })),
          )),
        );
      }
      const last = existing.map((p) => p.position).sort().at(-1)!;
      const seen: string[] = [];
      const added: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        // Each page is read while three more products are being registered.
        const [page, more]: [Page<Product>, Array<Product & { position: string }>] = await Promise.all([
          getPage({ limit: 20, cursor }, last),
          Promise.all(Array.from({ length: 3 }, (_, i) => register({ name: `Added ${pages}-${i}`, price: 1, stock: 1 }))),
        ]);
        added.push(...more.map((p) => p.id));
        seen.push(...page.items.map((p) => p.id));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor && pages < 100);
      expect(cursor).toBeNull();
      expect(new Set(seen).size).toBe(seen.length);
      const inOrder = [...existing].sort((x, y) => (x.position < y.position ? -1 : 1)).map((p) => p.id);
      expect(seen.filter((id) => inOrder.includes(id))).toEqual(inOrder);
      // Products added while paging come after every earlier one, never in between.
      const lastExisting = seen.indexOf(inOrder.at(-1)!);
      expect(seen.slice(0, lastExisting).some((id) => added.includes(id))).toBe(false);
    });
  });

  describe('cache', () => {
    const cache = () => t.app.services.cache;

    it('answers repeated reads from the cache, not the read model', async () => {
      const created = await register({ name: 'Cached', price: 10, stock: 2 });
      expect((await getProduct(created.id, created.position)).body.name).toBe('Cached');
      // A read of one's own write goes past the cache (see the next test); this one fills it.
      expect((await getProduct(created.id)).body.name).toBe('Cached');
      expect(await cache().get(productCacheKeys.product(created.id))).toMatchObject({ name: 'Cached' });
      // Changed behind the cache's back (no projection, so no invalidation): the cached answer stays.
      const doc = await t.app.services.documents.get<ProductDoc>(PRODUCTS, created.id);
      await t.app.services.documents.write([{ kind: 'upsert', collection: PRODUCTS, doc: { ...doc!, name: 'Behind the cache' } }]);
      expect((await getProduct(created.id)).body.name).toBe('Cached');
      await cache().invalidate({ keys: [productCacheKeys.product(created.id)] });
      expect((await getProduct(created.id)).body.name).toBe('Behind the cache');
    });

    it('answers a reader of its own write from the read model, not from a copy whose invalidation has not arrived', async () => {
      const created = await register({ name: 'Late news', price: 10, stock: 2 });
      const before = (await getProduct(created.id, created.position)).body as Product;
      await getProduct(created.id);
      const restocked = await restock(created.id, 3);
      const key = productCacheKeys.product(created.id);
      await eventually(() => cache().get(key), (cached) => cached === undefined, 5_000, 'the restock to invalidate the cached product');
      // As if the invalidation were still on its way: it follows the projection's commit, and
      // comes from another process when the projections run elsewhere.
      await cache().set(key, before, 60_000);
      const version = (await cache().version(productCacheKeys.listVersion))!;
      await cache().set(productCacheKeys.page(version, 100, undefined), { items: [before], nextCursor: null }, 60_000);

      expect((await getProduct(created.id)).body.stock).toBe(2);
      expect((await getPage({ limit: 100 })).items).toEqual([before]);
      expect((await getProduct(created.id, restocked.position)).body.stock).toBe(5);
      // The catalogue holds more than a page of products by now: the planted page had one.
      expect((await getPage({ limit: 100 }, restocked.position)).items).toHaveLength(100);
    });

    it('a cold product read by 50 requests at once costs one read-model query in this process', async () => {
      const created = await register({ name: 'Stampede', price: 10, stock: 2 });
      await getPage({}, created.position);
      const spy = jest.spyOn(t.app.services.documents, 'get');
      try {
        const answers = await Promise.all(Array.from({ length: 50 }, () => getProduct(created.id)));
        expect(answers.every((res) => res.status === 200 && res.body.name === 'Stampede')).toBe(true);
        expect(spy.mock.calls.filter(([collection, id]) => collection === PRODUCTS && id === created.id)).toHaveLength(1);
      } finally {
        spy.mockRestore();
      }
    });

    it('shows a restock on the cached product and on every cached page', async () => {
      const created = await register({ name: 'Restocked', price: 10, stock: 2 });
      await allProducts(created.position, 7);
      // Plain reads from here on: they fill the cache, and only an invalidation changes what they see.
      expect((await getProduct(created.id)).body.stock).toBe(2);
      const before = await allProducts(undefined, 7);
      expect(before.find((p) => p.id === created.id)?.stock).toBe(2);
      const version = await cache().version(productCacheKeys.listVersion);
      expect(await cache().get(productCacheKeys.page(version!, 7, undefined))).toBeDefined();

      const restocked = await restock(created.id, 5);
      expect((await getProduct(created.id, restocked.position)).body.stock).toBe(7);
      // Well inside the TTLs: only the invalidation can make these pass in time.
      await eventually(() => getProduct(created.id), (res) => res.body.stock === 7, 1_500, 'the cached product to be invalidated');
      const after = await eventually(
        () => allProducts(undefined, 7),
        (items) => items.find((p) => p.id === created.id)?.stock === 7,
        1_500,
        'every cached page to be invalidated',
      );
      expect(after.map((p) => p.id)).toEqual(before.map((p) => p.id));
    });

    it('never shows a sold-out product as on sale for longer than the projection lag', async () => {
      const created = await register({ name: 'Last one', price: 10, stock: 2 });
      expect((await getProduct(created.id, created.position)).body.status).toBe('ON_SALE');
      // Plain reads, so that the product and its pages are in the cache.
      expect((await getProduct(created.id)).body.status).toBe('ON_SALE');
      const onSale = await allProducts(undefined, 100);
      expect(onSale.find((p) => p.id === created.id)?.status).toBe('ON_SALE');

      const sold = await decrease(created.id, 'order-sellout', 2);
      expect(sold.state.stock).toBe(0);
      // Well inside the TTLs, and without asking for consistency: only the invalidation can make these pass in time.
      const detail = await eventually(() => getProduct(created.id), (res) => res.body.status === 'SOLD_OUT', 1_500, 'the product to show as sold out');
      expect(detail.body).toMatchObject({ stock: 0, status: 'SOLD_OUT' });
      const listed = await eventually(
        () => allProducts(undefined, 100),
        (items) => items.find((p) => p.id === created.id)?.status === 'SOLD_OUT',
        1_500,
        'the pages to show the product as sold out',
      );
      expect(listed.find((p) => p.id === created.id)?.stock).toBe(0);
      expect((await getProduct(created.id, sold.position!)).body.status).toBe('SOLD_OUT');
    });

    it('a cached page reflects a cancellation that puts the product back on sale', async () => {
      const created = await register({ name: 'Returned', price: 10, stock: 1 });
      const sold = await decrease(created.id, 'order-return', 1);
      expect((await getProduct(created.id, sold.position!)).body.status).toBe('SOLD_OUT');
      // Plain reads put the sold-out product and its pages in the cache.
      await eventually(() => allProducts(undefined), (items) => items.find((p) => p.id === created.id)?.status === 'SOLD_OUT', 1_500, 'a page showing it sold out');
      const restored = await restore(created.id, 'order-return');
      expect(restored.state.stock).toBe(1);
      expect((await getProduct(created.id, restored.position!)).body).toMatchObject({ stock: 1, status: 'ON_SALE' });
      const listed = await eventually(() => allProducts(undefined), (items) => items.find((p) => p.id === created.id)?.status === 'ON_SALE', 1_500, 'the cached pages to show it back on sale');
      expect(listed.find((p) => p.id === created.id)).toMatchObject({ stock: 1, status: 'ON_SALE' });
    });
  });

  describe('stock', () => {
    it('concurrent orders never take more than there is', async () => {
      const created = await register({ name: 'Hot', price: 10, stock: 10 });
      const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => decrease(created.id, `rush-${i}`, 1)));
      const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
      expect(refused).toHaveLength(20);
      refused.forEach((error) => {
        expect(error).toBeInstanceOf(DomainError);
        expect(error).toMatchObject({ code: 'OUT_OF_STOCK', details: { productId: created.id, requested: 1, available: 0 } });
      });
      const events = await t.app.services.events.readStream(productStream(created.id));
      const afters = events.slice(1).map((e) => (e.data as { stockAfter: number }).stockAfter);
      expect(afters).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    });

    it('the stock history is the product stream, newest first, page by page', async () => {
      const { id } = await register({ name: 'Tracked', price: 10, stock: 5 });
      await restock(id, 3);
      await decrease(id, 'o1', 2);
      await decrease(id, 'o1', 2);
      await restore(id, 'o1');
      await restore(id, 'o1');
      await decrease(id, 'o2', 6);
      expect((await t.http().patch(`/admin/products/${id}`).set(bearer(admin)).send({ price: 11 })).status).toBe(200);
      const last = await restock(id, 1);

      const items: unknown[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await t
          .http()
          .get(`/admin/products/${id}/stock-history`)
          .query({ limit: 2, ...(cursor ? { cursor } : {}) })
          .set(bearer(admin))
          .set(consistentWith(last.position));
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        items.push(...res.body.items);
        cursor = res.body.nextCursor;
      } while (cursor);

      const stream = (await t.app.services.events.readStream(productStream(id))).map((event) => recorded<ProductEvent>(event));
      const fromStream = stream
        .flatMap((event) => {
          switch (event.type) {
            case 'ProductRegistered':
              return [{ delta: event.data.stock, reason: 'REGISTERED', stockAfter: event.data.stock, occurredAt: event.data.occurredAt }];
            case 'StockAdded':
              return [{ delta: event.data.quantity, reason: 'RESTOCK', stockAfter: event.data.stockAfter, occurredAt: event.data.occurredAt }];
            case 'StockDecreased':
              return [{ delta: -event.data.quantity, reason: 'ORDER', orderId: event.data.orderId, stockAfter: event.data.stockAfter, occurredAt: event.data.occurredAt }];
            case 'StockRestored':
              return [{ delta: event.data.quantity, reason: 'CANCEL', orderId: event.data.orderId, stockAfter: event.data.stockAfter, occurredAt: event.data.occurredAt }];
            default:
              return [];
          }
        })
        .reverse();
      expect(items).toEqual(fromStream);
      expect(items.map((item) => (item as { delta: number }).delta)).toEqual([1, -6, 2, -2, 3, 5]);
      expect(items.map((item) => (item as { stockAfter: number }).stockAfter)).toEqual([3, 2, 8, 6, 8, 5]);
    });
  });
});

describe('products with Redis unreachable', () => {
  it('still registers and reads: the cache only makes things faster', async () => {
    // Nothing listens on port 1. ioredis reads client options from the URL's query: without a short
    // disconnectTimeout it keeps a 2 s timer for the socket that never opened, holding jest open.
    const t = await startTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1?disconnectTimeout=10' } });
    try {
      const admin = await t.tokenFor('boss', 'admin');
      const created = await t.http().post('/admin/products').set(bearer(admin)).send({ name: 'Offline', price: 1, stock: 1 });
      expect(created.status).toBe(201);
      const read = await t.http().get(`/products/${created.body.id}`).set('X-Consistent-With', created.body.position);
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ name: 'Offline', status: 'ON_SALE' });
      const restocked = await t.http().post(`/admin/products/${created.body.id}/restock`).set(bearer(admin)).send({ quantity: 2 });
      const again = await t.http().get(`/products/${created.body.id}`).set('X-Consistent-With', restocked.body.position);
      expect(again.body.stock).toBe(3);
      const page = await t.http().get('/products').set('X-Consistent-With', restocked.body.position);
      expect(page.body.items).toEqual([again.body]);
    } finally {
      // Not close(): it would also clear this run's keys out of Redis, and waits for a Redis that never comes.
      await t.stop();
      rmSync(t.dataDir, { recursive: true, force: true });
    }
  });
});
