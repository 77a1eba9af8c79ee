import { randomUUID } from 'node:crypto';
import { Call, Cluster, ok, Outcome, refusedWith, undecided } from './cluster';
import { LogFacts } from './log';

/**
 * The rushes of issue #8. Each one sets itself up, then `run` fires every request at once over
 * the API processes and keeps each answer; `violations` holds the answers against the log:
 * a 2xx must be in it, a 4xx must not, an undecided request (5xx, broken connection) may go
 * either way but never twice. `strict` adds what must hold when nothing crashed.
 */
export interface Rush {
  readonly name: string;
  run(): Promise<void>;
  violations(log: LogFacts, strict: boolean): string[];
  /** Answers by kind ('201', '409 COUPON_SOLD_OUT', 'lost', …), for the test's output. */
  tally(): Record<string, number>;
}

/**
 * The documented answer to a write that lost COMMAND_MAX_ATTEMPTS races in a row (docs/API.md): it
 * wrote nothing, which each rush checks against the log like its other refusals. A store with
 * slower appends (PostgreSQL across a network) meets it on the hottest streams.
 */
const CONFLICT = 'CONCURRENCY_CONFLICT';

const label = (o: Outcome) => (o.kind === 'lost' ? `lost ${o.error}` : o.kind !== 'answered' ? o.kind : o.status < 300 ? String(o.status) : `${o.status} ${o.body?.code ?? ''}`);
const tally = (outcomes: readonly Outcome[]) => outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [label(o)]: (t[label(o)] ?? 0) + 1 }), {});
const keyed = (call: Omit<Call, 'idempotencyKey'>): Call => ({ ...call, idempotencyKey: randomUUID() });

async function users(cluster: Cluster, prefix: string, n: number) {
  return Promise.all(Array.from({ length: n }, async (_, i) => ({ userId: `${prefix}-${i}`, token: await cluster.token(`${prefix}-${i}`) })));
}

async function product(cluster: Cluster, price: number, stock: number): Promise<string> {
  return (await cluster.must({ method: 'POST', path: '/admin/products', token: await cluster.admin(), body: { name: `p-${randomUUID().slice(0, 8)}`, price, stock } })).id;
}

async function charge(cluster: Cluster, token: string, amount: number) {
  await cluster.must(keyed({ method: 'POST', path: '/me/points/charge', token, body: { amount } }));
}

async function placeOrder(cluster: Cluster, token: string, productId: string, userCouponId?: string): Promise<string> {
  return (await cluster.must(keyed({ method: 'POST', path: '/orders', token, body: { items: [{ productId, quantity: 1 }], userCouponId } }))).orderId;
}

/** Sets up `n` users at a time, so set-up does not swamp the processes either. */
async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

/** `userCount` users for `quantity` coupons: never more than the quantity, one per user. */
export async function couponRush(cluster: Cluster, tag: string, userCount: number, quantity: number): Promise<Rush & { couponId: string }> {
  const couponId = (await cluster.must({ method: 'POST', path: '/admin/coupons', token: await cluster.admin(), body: { name: `rush ${tag}`, discount: { type: 'FIXED', amount: 100 }, totalQuantity: quantity } })).couponId as string;
  const people = await users(cluster, `${tag}-c`, userCount);
  let outcomes: Outcome[] = [];
  return {
    couponId,
    name: `${userCount} users for ${quantity} coupons`,
    async run() {
      outcomes = await Promise.all(people.map(({ token }) => cluster.call(keyed({ method: 'POST', path: `/coupons/${couponId}/issue`, token }))));
    },
    violations(log, strict) {
      const holders = log.holders.get(couponId) ?? new Set<string>();
      const out: string[] = [];
      if (holders.size > quantity) out.push(`${holders.size} coupons issued of ${quantity}`);
      outcomes.forEach((o, i) => {
        const { userId } = people[i];
        if (ok(o) && !(holders.has(userId) && (o as { body: { userCouponId: string } }).body.userCouponId === `${couponId}:${userId}`)) out.push(`${userId} got ${label(o)} but holds no coupon`);
        else if (refusedWith(o, 'COUPON_SOLD_OUT', CONFLICT) && holders.has(userId)) out.push(`${userId} was refused ${label(o)} but holds a coupon`);
        else if (!ok(o) && !undecided(o) && !refusedWith(o, 'COUPON_SOLD_OUT', CONFLICT)) out.push(`${userId}: unexpected answer ${JSON.stringify(o)}`);
      });
      if (strict && (holders.size !== quantity || outcomes.filter(ok).length !== quantity)) out.push(`expected exactly ${quantity} issued: ${JSON.stringify(tally(outcomes))}, log ${holders.size}`);
      return out;
    },
    tally: () => tally(outcomes),
  };
}

/** `userCount` users, each with a placed order, pay at once for a product with `stock` left: exactly that many are paid. */
export async function stockRush(cluster: Cluster, tag: string, userCount: number, stock: number): Promise<Rush & { productId: string }> {
  const productId = await product(cluster, 1_000, stock);
  const people = await users(cluster, `${tag}-s`, userCount);
  const placed: Array<{ orderId: string; token: string }> = [];
  await inBatches(people, 50, async ({ token }) => {
    await charge(cluster, token, 5_000);
    placed.push({ orderId: await placeOrder(cluster, token, productId), token });
  });
  const orders = placed.map((p) => p.orderId);
  let outcomes: Outcome[] = [];
  return {
    productId,
    name: `${userCount} users paying for a stock of ${stock}`,
    async run() {
      outcomes = await Promise.all(placed.map(({ orderId, token }) => cluster.call(keyed({ method: 'POST', path: `/orders/${orderId}/payment`, token, body: {} }))));
    },
    violations(log, strict) {
      const out: string[] = [];
      const paid = orders.filter((orderId) => log.orders.get(orderId)?.paid);
      if (paid.length > stock) out.push(`${paid.length} orders paid for a stock of ${stock}`);
      outcomes.forEach((o, i) => {
        const orderId = orders[i];
        const isPaid = log.orders.get(orderId)?.paid === true;
        if (ok(o) && !isPaid) out.push(`order ${orderId} got ${label(o)} but is not paid`);
        else if (refusedWith(o, 'OUT_OF_STOCK', CONFLICT) && isPaid) out.push(`order ${orderId} was refused ${label(o)} but is paid`);
        else if (!ok(o) && !undecided(o) && !refusedWith(o, 'OUT_OF_STOCK', CONFLICT)) out.push(`order ${orderId}: unexpected answer ${JSON.stringify(o)}`);
      });
      if (strict && (paid.length !== stock || outcomes.filter(ok).length !== stock)) out.push(`expected exactly ${stock} paid: ${JSON.stringify(tally(outcomes))}, log ${paid.length}`);
      return out;
    },
    tally: () => tally(outcomes),
  };
}

/**
 * A few shared wallets, each hit at once by charges of distinct amounts and by checkouts that
 * spend from it: a charge is recognised in the log by its amount, so each must be there once
 * if answered 2xx, never if refused, never twice.
 */
export async function walletRush(cluster: Cluster, tag: string, walletCount: number, chargesEach: number, checkoutsEach: number): Promise<Rush> {
  const productId = await product(cluster, 700, 1_000_000);
  const wallets = await users(cluster, `${tag}-w`, walletCount);
  type Sent = { userId: string; kind: 'charge' | 'checkout'; amount: number; outcome?: Outcome };
  const sent: Sent[] = wallets.flatMap(({ userId }) => [
    ...Array.from({ length: chargesEach }, (_, i): Sent => ({ userId, kind: 'charge', amount: 300 + i })),
    ...Array.from({ length: checkoutsEach }, (): Sent => ({ userId, kind: 'checkout', amount: 700 })),
  ]);
  const tokens = new Map(wallets.map((w) => [w.userId, w.token]));
  return {
    name: `${walletCount} shared wallets, ${chargesEach} charges and ${checkoutsEach} checkouts each, at once`,
    async run() {
      // Shuffled, so charges and spending interleave on every wallet.
      const order = [...sent].sort(() => Math.random() - 0.5);
      await Promise.all(
        order.map(async (s) => {
          const token = tokens.get(s.userId)!;
          s.outcome = await cluster.call(
            s.kind === 'charge'
              ? keyed({ method: 'POST', path: '/me/points/charge', token, body: { amount: s.amount } })
              : keyed({ method: 'POST', path: '/checkout', token, body: { items: [{ productId, quantity: 1 }] } }),
          );
        }),
      );
    },
    violations(log) {
      const out: string[] = [];
      for (const { userId } of wallets) {
        const landed = log.charges.get(userId) ?? [];
        if (new Set(landed).size !== landed.length) out.push(`${userId}: a charge landed twice: ${landed.join(', ')}`);
        const mine = sent.filter((s) => s.userId === userId);
        for (const s of mine.filter((m) => m.kind === 'charge')) {
          if (ok(s.outcome!) && !landed.includes(s.amount)) out.push(`${userId}: charge of ${s.amount} got ${label(s.outcome!)} but is not in the log`);
          else if (refusedWith(s.outcome!, CONFLICT) && landed.includes(s.amount)) out.push(`${userId}: charge of ${s.amount} got ${label(s.outcome!)} but is in the log`);
          else if (!ok(s.outcome!) && !undecided(s.outcome!) && !refusedWith(s.outcome!, CONFLICT)) out.push(`${userId}: charge of ${s.amount} refused: ${JSON.stringify(s.outcome)}`);
        }
        const checkouts = mine.filter((m) => m.kind === 'checkout');
        const paidInLog = [...log.orders.values()].filter((o) => o.userId === userId && o.paid).length;
        const answeredPaid = checkouts.filter((c) => ok(c.outcome!));
        for (const c of answeredPaid) if (!log.orders.get((c.outcome as { body: { orderId: string } }).body.orderId)?.paid) out.push(`${userId}: checkout got 201 but its order is not paid`);
        const maybe = checkouts.filter((c) => undecided(c.outcome!)).length;
        if (paidInLog < answeredPaid.length || paidInLog > answeredPaid.length + maybe) out.push(`${userId}: ${paidInLog} paid orders in the log for ${answeredPaid.length} answered 201 and ${maybe} undecided`);
        for (const c of checkouts) if (!ok(c.outcome!) && !undecided(c.outcome!) && !refusedWith(c.outcome!, 'POINTS_INSUFFICIENT', CONFLICT)) out.push(`${userId}: checkout: unexpected answer ${JSON.stringify(c.outcome)}`);
      }
      return out;
    },
    tally: () => tally(sent.map((s) => s.outcome!)),
  };
}

/**
 * Orders paid and cancelled at the same time: one transition wins, or the cancellation refunds the
 * payment; never both half-way. Each uses a coupon of one campaign, which verify then finds used
 * exactly by the paid orders and given back by the refunded ones.
 */
export async function payCancelRush(cluster: Cluster, tag: string, orderCount: number): Promise<Rush> {
  const productId = await product(cluster, 500, 1_000_000);
  const body = { name: `pay or cancel ${tag}`, discount: { type: 'FIXED', amount: 100 }, totalQuantity: orderCount };
  const couponId = (await cluster.must({ method: 'POST', path: '/admin/coupons', token: await cluster.admin(), body })).couponId as string;
  const people = await users(cluster, `${tag}-r`, orderCount);
  const orders: Array<{ orderId: string; token: string; pay?: Outcome; cancel?: Outcome }> = [];
  await inBatches(people, 50, async ({ token }) => {
    await charge(cluster, token, 10_000);
    const { userCouponId } = await cluster.must(keyed({ method: 'POST', path: `/coupons/${couponId}/issue`, token }));
    orders.push({ orderId: await placeOrder(cluster, token, productId, userCouponId), token });
  });
  return {
    name: `${orderCount} orders with coupons of one campaign paid and cancelled at once`,
    async run() {
      await Promise.all(
        orders.flatMap((o) => {
          const pay = async () => (o.pay = await cluster.call(keyed({ method: 'POST', path: `/orders/${o.orderId}/payment`, token: o.token, body: {} })));
          const cancel = async () => (o.cancel = await cluster.call(keyed({ method: 'POST', path: `/orders/${o.orderId}/cancel`, token: o.token })));
          return Math.random() < 0.5 ? [pay(), cancel()] : [cancel(), pay()];
        }),
      );
    },
    violations(log, strict) {
      const out: string[] = [];
      for (const o of orders) {
        const facts = log.orders.get(o.orderId)!;
        if (ok(o.pay!) && !facts.paid) out.push(`order ${o.orderId}: payment got 200 but it was never paid`);
        if (refusedWith(o.pay!, 'ORDER_NOT_PAYABLE') && (facts.paid || !facts.cancelled)) out.push(`order ${o.orderId}: payment refused as not payable, yet paid=${facts.paid} cancelled=${facts.cancelled}`);
        if (ok(o.cancel!) && !facts.cancelled) out.push(`order ${o.orderId}: cancellation got 200 but it is not cancelled`);
        if (refusedWith(o.cancel!, 'ORDER_NOT_CANCELLABLE') && facts.cancelled) out.push(`order ${o.orderId}: cancellation refused, yet cancelled`);
        if (refusedWith(o.pay!, CONFLICT) && facts.paid) out.push(`order ${o.orderId}: payment got ${label(o.pay!)}, yet paid`);
        if (refusedWith(o.cancel!, CONFLICT) && facts.cancelled) out.push(`order ${o.orderId}: cancellation got ${label(o.cancel!)}, yet cancelled`);
        for (const [what, outcome, allowed] of [['payment', o.pay!, 'ORDER_NOT_PAYABLE'], ['cancellation', o.cancel!, 'ORDER_NOT_CANCELLABLE']] as const) {
          if (!ok(outcome) && !undecided(outcome) && !refusedWith(outcome, allowed, CONFLICT)) out.push(`order ${o.orderId}: ${what}: unexpected answer ${JSON.stringify(outcome)}`);
        }
        if (strict && !ok(o.pay!) && !ok(o.cancel!)) out.push(`order ${o.orderId}: neither payment nor cancellation went through`);
      }
      return out;
    },
    tally: () => tally(orders.flatMap((o) => [o.pay!, o.cancel!])),
  };
}
