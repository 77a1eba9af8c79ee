/** GET /me/orders for a user with 1,000 orders, and placing those orders over HTTP. */
import { call, inParallel } from '../lib/api';
import { settings, check, MainContext, Measured } from '../lib/harness';
import { readMeasured, readScenario } from './reads';

export async function myOrders(ctx: MainContext): Promise<Measured> {
  const { stats, cpuUsPerRequest, unexpected } = await readScenario(ctx, { method: 'GET', path: '/me/orders', headers: { authorization: `Bearer ${ctx.ordersUser.token}` } });
  const seen: Array<{ createdAt: string; status: string }> = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; body: any } = await call(ctx.server.url, 'GET', `/me/orders?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: ctx.ordersUser.token });
    if (res.status !== 200) break;
    seen.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  const newestFirst = seen.every((o, i) => i === 0 || seen[i - 1].createdAt >= o.createdAt);
  const inLog = ctx.reader.since(0, ['OrderPaid']).filter((e) => e.data.userId === ctx.ordersUser.userId).length;
  return readMeasured(ctx, { stats, cpuUsPerRequest, unexpected }, {
    id: 'my-orders',
    title: 'GET /me/orders (user with 1,000 orders)',
    description: 'first page (20) of one user’s orders, newest first',
    checks: [
      check(`paging lists all ${settings.userOrders} orders, all PAID, newest first`, seen.length === settings.userOrders && seen.every((o) => o.status === 'PAID') && newestFirst, `${seen.length} listed`),
      check('the log holds the same number of paid orders for the user', inLog === seen.length, `${inLog} OrderPaid`),
    ],
  });
}

/** The user with many orders: `userOrders` checkouts over HTTP, weighted so the popular ranking is clear. */
export async function placeUserOrders(ctx: MainContext): Promise<Array<[string, number]>> {
  const weights = [0, 0, 0, 0, 1, 1, 1, 2, 2, 3];
  const results = await inParallel(
    Array.from({ length: settings.userOrders }, (_, i) => i),
    4,
    async (i) => {
      const productId = ctx.fixtures.products[weights[i % weights.length]].id;
      const res = await call(ctx.server.url, 'POST', '/checkout', { token: ctx.ordersUser.token, body: { items: [{ productId, quantity: 1 }] } });
      if (res.status !== 201) throw new Error(`set-up order ${i} failed: ${res.status} ${JSON.stringify(res.body)}`);
      return productId;
    },
  );
  const sold = new Map<string, number>();
  for (const id of results) sold.set(id, (sold.get(id) ?? 0) + 1);
  return [...sold].sort((a, b) => b[1] - a[1]).slice(0, 5);
}
