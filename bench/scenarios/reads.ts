/** The cached reads: the catalogue's first page, one product, the popular products. */
import { call, inParallel, position } from '../lib/api';
import { cannon, LoadStats, RequestSpec } from '../lib/load';
import { settings, withCpu, check, MainContext, Measured, measured } from '../lib/harness';
import { latestStock } from './charge';

/** A read scenario's result: a fixed-duration load, judged against 0.7 × Express unless it says otherwise. */
export const readMeasured = (ctx: MainContext, run: Parameters<typeof measured>[1], about: Omit<Parameters<typeof measured>[2], 'load'>): Measured =>
  measured(ctx, run, { goal: { ratio: 0.7 }, ...about, load: 'closed loop, fixed duration' });

/** Duration-based read load with a warm-up; every non-200 is unexpected. */
export async function readScenario(ctx: MainContext, request: RequestSpec): Promise<{ stats: LoadStats; cpuUsPerRequest: number; unexpected: number }> {
  let unexpected = 0;
  const counting: RequestSpec = { ...request, onResponse: (status) => void (status !== 200 && (unexpected += 1)) };
  await cannon({ url: ctx.server.url, connections: settings.connections, duration: settings.warmupSeconds, requests: [counting] });
  unexpected = 0;
  const { stats, cpuUsPerRequest } = await withCpu(ctx.server, null, () =>
    cannon({ url: ctx.server.url, connections: settings.connections, duration: settings.durationSeconds, requests: [counting] }),
  );
  return { stats, cpuUsPerRequest, unexpected };
}

export async function productsList(ctx: MainContext): Promise<Measured> {
  const { stats, cpuUsPerRequest, unexpected } = await readScenario(ctx, { method: 'GET', path: '/products?limit=20' });
  const head = position(ctx.reader.head());
  const res = await call(ctx.server.url, 'GET', '/products?limit=20', { headers: { 'X-Consistent-With': head } });
  const items = (res.body.items ?? []) as Array<{ id: string; name: string; price: number; stock: number }>;
  const expectedIds = ctx.fixtures.products.slice(0, 20).map((p) => p.id);
  const wrong = items.filter((item) => {
    const truth = latestStock(ctx.reader, item.id);
    return truth.stock !== item.stock || truth.name !== item.name || truth.price !== item.price;
  });
  return readMeasured(ctx, { stats, cpuUsPerRequest, unexpected }, {
    id: 'products',
    title: 'GET /products?limit=20',
    description: 'first catalogue page (cached)',
    checks: [
      check('the page lists the first 20 registered products in order', JSON.stringify(items.map((i) => i.id)) === JSON.stringify(expectedIds), `${items.length} items`),
      check('each product on the page = the log (name, price, stock)', items.length === 20 && wrong.length === 0, `${wrong.length} differ`),
    ],
  });
}

export async function productDetail(ctx: MainContext): Promise<Measured> {
  const ids = ctx.fixtures.products.map((p) => p.id);
  let next = 0;
  const { stats, cpuUsPerRequest, unexpected } = await readScenario(ctx, {
    method: 'GET',
    setupRequest: (req) => ({ ...req, path: `/products/${ids[next++ % ids.length]}` }),
  });
  const head = position(ctx.reader.head());
  const wrong: string[] = [];
  await inParallel(ids, 10, async (id) => {
    const res = await call(ctx.server.url, 'GET', `/products/${id}`, { headers: { 'X-Consistent-With': head } });
    const truth = latestStock(ctx.reader, id);
    if (res.status !== 200 || res.body.stock !== truth.stock || res.body.price !== truth.price || res.body.status !== (truth.stock > 0 ? 'ON_SALE' : 'SOLD_OUT')) {
      wrong.push(id);
    }
  });
  return readMeasured(ctx, { stats, cpuUsPerRequest, unexpected }, {
    id: 'product',
    title: 'GET /products/{id}',
    description: `one product (cached), ${ids.length} products in turn`,
    checks: [check(`each of the ${ids.length} products = the log`, wrong.length === 0, `${wrong.length} differ`)],
  });
}

export async function popular(ctx: MainContext, expected: Array<[string, number]>): Promise<Measured> {
  const { stats, cpuUsPerRequest, unexpected } = await readScenario(ctx, { method: 'GET', path: '/products/popular' });
  const res = await call(ctx.server.url, 'GET', '/products/popular');
  const got = (res.body.items ?? []).map((i: { productId: string; soldQuantity: number }) => [i.productId, i.soldQuantity]);
  const verify = await call(ctx.server.url, 'GET', '/admin/popular-products/check?days=3', { token: ctx.admin, headers: { 'X-Consistent-With': position(ctx.reader.head()) } });
  return readMeasured(ctx, { stats, cpuUsPerRequest, unexpected }, {
    id: 'popular',
    title: 'GET /products/popular',
    description: 'top 5 by quantity sold over 3 days (cached between refreshes)',
    checks: [
      check('ranking = the set-up orders (product, quantity sold)', JSON.stringify(got) === JSON.stringify(expected), JSON.stringify(got)),
      check('live ranking = brute-force recount over the log (/admin/popular-products/check)', verify.status === 200 && verify.body.consistent === true, JSON.stringify(verify.body).slice(0, 200)),
    ],
  });
}
