/** POST /checkout: place and pay 3 products with a coupon, at full and at half load, spread over campaigns or all on one. */
import { call, inParallel, LogView, position } from '../lib/api';
import { cannon, LoadStats, paced, RequestSpec } from '../lib/load';
import { Check } from '../lib/report';
import { Buyer, Fixtures } from '../lib/seed';
import { settings, log, withoutProjections, caughtUp, withCpu, jsonHeaders, check, amountFor, settled, MainContext, Measured, measured } from '../lib/harness';

/** The 3 products the i-th checkout buys. */
/** Buyers of one checkout scenario, each used for one request. */
export interface Pool {
  readonly buyers: readonly Buyer[];
  readonly tokens: readonly string[];
  next: number;
}

export function basket(fixtures: Fixtures, i: number): string[] {
  const n = fixtures.products.length;
  const start = (3 * i) % n;
  return [0, 1, 2].map((k) => fixtures.products[(start + k) % n].id);
}

export interface CheckoutTally {
  readonly used: Array<{ buyer: number; items: string[] }>;
  readonly statuses: Record<string, number>;
  readonly failures: string[];
}

export function checkoutRequest(ctx: MainContext, pool: Pool, tally: CheckoutTally): RequestSpec {
  return {
    method: 'POST',
    path: '/checkout',
    setupRequest: (req, context) => {
      if (pool.next >= pool.buyers.length) throw new Error('out of seeded checkout buyers');
      const b = pool.next++;
      const items = basket(ctx.fixtures, b);
      context.buyer = b;
      context.items = items;
      const body = JSON.stringify({ items: items.map((productId) => ({ productId, quantity: 1 })), userCouponId: pool.buyers[b].userCouponId });
      return { ...req, headers: jsonHeaders(pool.tokens[b]), body };
    },
    onResponse: (status, body, context) => {
      tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
      if (status === 201) tally.used.push({ buyer: context.buyer as number, items: context.items as string[] });
      else if (tally.failures.length < 5) tally.failures.push(`${status} ${body.slice(0, 200)}`);
    },
  };
}

/** The log agrees with the answered checkouts: orders paid, coupons used, points and stock taken. */
export function checkoutChecks(reader: LogView, fixtures: Fixtures, pool: Pool, head0: number, tally: CheckoutTally): Check[] {
  const checks: Check[] = [];
  const events = reader.since(head0, ['OrderPaid', 'CouponUsed', 'PointsUsed', 'StockDecreased']);
  const count = (type: string) => events.filter((e) => e.type === type).length;
  const paid = tally.used.length;
  checks.push(check('OrderPaid, CouponUsed, PointsUsed in the log = 201s', count('OrderPaid') === paid && count('CouponUsed') === paid && count('PointsUsed') === paid,
    `${paid} × 201; ${count('OrderPaid')} OrderPaid, ${count('CouponUsed')} CouponUsed, ${count('PointsUsed')} PointsUsed`));
  const expectedTaken = new Map<string, number>();
  for (const { items } of tally.used) for (const id of items) expectedTaken.set(id, (expectedTaken.get(id) ?? 0) + 1);
  const taken = new Map<string, number>();
  for (const e of events) if (e.type === 'StockDecreased') taken.set(e.data.productId, (taken.get(e.data.productId) ?? 0) + e.data.quantity);
  const stockDiff = [...new Set([...expectedTaken.keys(), ...taken.keys()])].filter((id) => expectedTaken.get(id) !== taken.get(id));
  checks.push(check('stock taken per product = units sold in 201s', stockDiff.length === 0, `${expectedTaken.size} products, ${stockDiff.length} differ`));
  const broken = fixtures.products.filter((p) => {
    let stock = -1;
    for (const e of reader.stream(`product-${p.id}`)) {
      if (e.type === 'ProductRegistered') stock = e.data.stock;
      else if (e.type === 'StockDecreased' || e.type === 'StockRestored' || e.type === 'StockAdded') {
        const delta = e.type === 'StockDecreased' ? -e.data.quantity : e.data.quantity;
        if (e.data.stockAfter !== stock + delta || e.data.stockAfter < 0) return true;
        stock = e.data.stockAfter;
      }
    }
    return false;
  });
  checks.push(check('every product stream adds up (stockAfter = before ± quantity, never < 0)', broken.length === 0, `${fixtures.products.length} products, ${broken.length} broken`));
  const price = new Map(fixtures.products.map((p) => [p.id, p.price]));
  const discount = new Map(fixtures.coupons.map((c) => [c.couponId, c.discount]));
  const wrongWallets = tally.used.filter(({ buyer, items }) => {
    const b = pool.buyers[buyer];
    const wallet = reader.stream(`wallet-${b.userId}`);
    const total = items.reduce((sum, id) => sum + price.get(id)!, 0) - discount.get(b.userCouponId.slice(0, b.userCouponId.lastIndexOf(':')))!;
    return wallet.length !== 2 || wallet[1].type !== 'PointsUsed' || wallet[1].data.balanceAfter !== b.points - total;
  });
  checks.push(check('every paying buyer paid exactly once: balance = seeded points − (3 prices − coupon)', wrongWallets.length === 0, `${paid} buyers, ${wrongWallets.length} wrong`));
  return checks;
}

export async function checkout(ctx: MainContext, pool: Pool, variant: 'spread' | 'hot'): Promise<Measured> {
  const tally: CheckoutTally = { used: [], statuses: {}, failures: [] };
  const head0 = ctx.reader.head();
  const limit = pool.buyers.length;
  const request = checkoutRequest(ctx, pool, tally);
  const warm = await cannon({ url: ctx.server.url, connections: settings.connections, amount: settings.connections * (variant === 'hot' ? 4 : 20), requests: [request] });
  const left = limit - pool.next;
  // Keep a third of what is left for the half-load run.
  const amount = amountFor(warm.rps, settings.durationSeconds, settings.connections * 4, Math.floor((left * 2) / 3));
  const fullLoad = () => cannon({ url: ctx.server.url, connections: settings.connections, amount, requests: [request] });
  const { stats, cpuUsPerRequest } = await withCpu(ctx.server, ctx.admin, () =>
    settings.pauseProjections && variant === 'spread' ? withoutProjections(ctx.server, fullLoad) : fullLoad(),
  );
  const measuredStatuses = { ...tally.statuses };
  let half: (LoadStats & { targetRps: number }) | undefined;
  if (variant === 'spread') {
    const targetRps = stats.rps / 2;
    const halfSeconds = Math.min(settings.durationSeconds, (limit - pool.next) / Math.max(1, targetRps));
    // Steady state at half load, not the full load's leftovers: deliveries to the data platform
    // still queued from it would take the main thread for the first seconds.
    const settledMs = await settled(ctx.server);
    log(`checkout: ${Math.round(stats.rps)} req/s at full load; app idle after ${settledMs} ms; now ${Math.round(targetRps)} req/s for ${halfSeconds.toFixed(1)} s`);
    const halfStats = await paced({
      url: ctx.server.url,
      rate: targetRps,
      durationS: halfSeconds,
      next: () => {
        const b = pool.next++;
        const items = basket(ctx.fixtures, b);
        const body = JSON.stringify({ items: items.map((productId) => ({ productId, quantity: 1 })), userCouponId: pool.buyers[b].userCouponId });
        return { method: 'POST', path: '/checkout', headers: { ...jsonHeaders(pool.tokens[b]), 'x-bench-buyer': String(b) }, body };
      },
      onResponse: (status, body, sent) => {
        tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
        const b = Number(sent.headers['x-bench-buyer']);
        if (status === 201) tally.used.push({ buyer: b, items: basket(ctx.fixtures, b) });
        else if (tally.failures.length < 5) tally.failures.push(`${status} ${body.slice(0, 200)}`);
      },
    });
    half = { ...halfStats, targetRps };
    await caughtUp(ctx.server, ctx.admin);
  }
  await ctx.reader.refresh();
  const checks = checkoutChecks(ctx.reader, ctx.fixtures, pool, head0, tally);
  const all = Object.values(tally.statuses).reduce((a, b) => a + b, 0);
  checks.unshift(check(`every checkout (warm-up, full${half ? ' and half' : ''} load) answered 201`, tally.used.length === all, `${JSON.stringify(tally.statuses)} ${tally.failures.join(' | ')}`));
  // Read models, for a sample of buyers: their one order, PAID, and their balance.
  const head = position(ctx.reader.head());
  const sample = tally.used.slice(0, 20);
  const wrong: string[] = [];
  await inParallel(sample, 5, async ({ buyer }) => {
    const b = pool.buyers[buyer];
    const orders = await call(ctx.server.url, 'GET', '/me/orders', { token: pool.tokens[buyer], headers: { 'X-Consistent-With': head } });
    const points = await call(ctx.server.url, 'GET', '/me/points', { token: pool.tokens[buyer], headers: { 'X-Consistent-With': head } });
    const order = orders.body.items?.[0];
    if (orders.body.items?.length !== 1 || order.status !== 'PAID' || points.body.balance !== b.points - order.total) wrong.push(b.userId);
  });
  checks.push(check('orders and balance read models agree (20 buyers, X-Consistent-With)', wrong.length === 0, `${wrong.length} differ`));
  const unexpected = Object.entries(measuredStatuses).reduce((sum, [code, n]) => (code === '201' ? sum : sum + n), 0);
  return variant === 'spread'
    ? measured(ctx, { stats, cpuUsPerRequest, unexpected }, {
        id: 'checkout',
        title: 'POST /checkout (3 products + coupon)',
        description: `place and pay in one atomic write; every request a distinct buyer with points and a coupon (${settings.checkoutCoupons} campaigns), 3 of ${settings.products} products`,
        load: 'closed loop, fixed request count ≈ warm-up rate × duration; then an open-loop run at half that rate',
        goal: { cpuTimesExpress: 8, halfLoadP99Ms: 25 },
        checks,
        halfLoad: half,
      })
    : measured(ctx, { stats, cpuUsPerRequest, unexpected }, {
        id: 'checkout-hot',
        title: 'POST /checkout, one coupon campaign for all',
        description: 'as checkout, but every buyer’s coupon is of the same campaign: every order also writes that coupon’s stream',
        load: 'closed loop, fixed request count ≈ warm-up rate × duration',
        checks,
      });
}
