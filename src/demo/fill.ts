import { Api, apiClient, must, refusedWith } from './client';
import { COUPONS, CouponName, CUSTOMERS, DEMO_ADMIN, ORDERS, PRODUCTS, ProductName } from './shop';

export interface FillOptions {
  readonly baseUrl: string;
  /**
   * Sets the clock of a server this process runs to `daysAgo` days back, so that orders land on
   * the days the plan gives. Absent for a server elsewhere: its clock is its own, and all the
   * orders placed now are today's.
   */
  readonly travel?: (daysAgo: number) => void;
  readonly log?: (line: string) => void;
}

export interface Filled {
  readonly tokens: Readonly<Record<string, string>>;
  readonly products: ReadonlyMap<ProductName, { readonly id: string; readonly price: number }>;
  readonly coupons: ReadonlyMap<CouponName, { readonly couponId: string; readonly remainingQuantity: number }>;
  /** Orders this run placed (0 when the shop was already there). */
  readonly placed: number;
  readonly ranking: readonly { readonly rank: number; readonly name: string; readonly soldQuantity: number }[];
}

const DAY_MS = 86_400_000;

/**
 * For a server this process runs (createEventmart's `clock` override, which no request and no
 * setting can reach): the real clock, moved back by whole days while the demo places older orders.
 */
export function travellingClock(): { readonly clock: { now(): Date }; readonly travel: (daysAgo: number) => void } {
  let daysAgo = 0;
  return { clock: { now: () => new Date(Date.now() - daysAgo * DAY_MS) }, travel: (days) => (daysAgo = days) };
}

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** Every page of a cursor-paged list. */
async function all<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/**
 * Fills a server through its API with the demo shop (shop.ts). Running it again adds nothing:
 * products and coupons are looked up by name, charges and orders by what each customer already
 * has, and every write carries an Idempotency-Key, so even a lookup that has not caught up yet
 * replays the first answer instead of writing twice.
 */
export async function fillShop({ baseUrl, travel = () => undefined, log = () => undefined }: FillOptions): Promise<Filled> {
  const anonymous = apiClient(baseUrl);
  const tokenFor = async (userId: string, role: 'customer' | 'admin') => {
    try {
      return (await must(anonymous.POST('/auth/dev-token', { body: { userId, role } }), 'a dev token')).token;
    } catch (error) {
      if (refusedWith(error, 'ROUTE_NOT_FOUND')) throw new Error(`${baseUrl} hands out no dev tokens (AUTH_DEV_TOKENS=false); the demo needs them`);
      throw error;
    }
  };
  const tokens: Record<string, string> = { [DEMO_ADMIN]: await tokenFor(DEMO_ADMIN, 'admin') };
  const admin = apiClient(baseUrl, tokens[DEMO_ADMIN]);
  const key = (name: string) => ({ header: { 'Idempotency-Key': `demo-${slug(name)}` } });

  // The catalogue and the campaigns exist before the oldest order.
  travel(Math.max(...ORDERS.map((order) => order.daysAgo)));
  const listed = new Map(
    (await all((cursor) => must(anonymous.GET('/products', { params: { query: { limit: 100, cursor } } }), 'the catalogue'))).map((p) => [p.name, p]),
  );
  const products = new Map<ProductName, { id: string; price: number }>();
  for (const product of PRODUCTS) {
    const found =
      listed.get(product.name) ??
      (await must(admin.POST('/admin/products', { body: product, params: key(`product ${product.name}`) }), `registering ${product.name}`));
    products.set(product.name, { id: found.id, price: found.price });
  }
  log(`${products.size} products (${PRODUCTS.length - [...products.keys()].filter((name) => listed.has(name)).length} new)`);

  const campaigns = new Map(
    (await all((cursor) => must(admin.GET('/admin/coupons', { params: { query: { limit: 100, cursor } } }), 'the coupons'))).map((c) => [c.name, c.couponId]),
  );
  for (const coupon of COUPONS) {
    if (campaigns.has(coupon.name)) continue;
    const created = await must(admin.POST('/admin/coupons', { body: coupon, params: key(`coupon ${coupon.name}`) }), `creating ${coupon.name}`);
    campaigns.set(coupon.name, created.couponId);
  }

  const customers = new Map<string, { api: Api; coupons: Map<CouponName, string>; paidOrders: number }>();
  for (const customer of CUSTOMERS) {
    tokens[customer.userId] = await tokenFor(customer.userId, 'customer');
    const api = apiClient(baseUrl, tokens[customer.userId]);
    const history = await must(api.GET('/me/points/history', { params: { query: { limit: 100 } } }), 'point history');
    if (!history.items.some((entry) => entry.type === 'CHARGE')) {
      await must(api.POST('/me/points/charge', { body: { amount: customer.points }, params: key(`charge ${customer.userId}`) }), `charging ${customer.userId}`);
    }
    for (const name of customer.coupons) {
      await must(api.POST('/coupons/{couponId}/issue', { params: { path: { couponId: campaigns.get(name)! } } }), `issuing ${name}`).catch((error: unknown) => {
        if (!refusedWith(error, 'COUPON_ALREADY_ISSUED')) throw error;
      });
    }
    const held = await all((cursor) => must(api.GET('/me/coupons', { params: { query: { limit: 100, cursor } } }), 'my coupons'));
    const coupons = new Map(held.filter((c) => c.status === 'AVAILABLE').map((c) => [c.name as CouponName, c.userCouponId]));
    const paid = await all((cursor) => must(api.GET('/me/orders', { params: { query: { status: 'PAID', limit: 100, cursor } } }), 'my orders'));
    customers.set(customer.userId, { api, coupons, paidOrders: paid.length });
  }

  let placed = 0;
  let lastPosition: string | undefined;
  const seen = new Map<string, number>();
  for (const order of ORDERS) {
    const customer = customers.get(order.userId)!;
    const index = seen.get(order.userId) ?? 0;
    seen.set(order.userId, index + 1);
    if (index < customer.paidOrders) continue;
    travel(order.daysAgo);
    const userCouponId = order.coupon ? customer.coupons.get(order.coupon) : undefined;
    const paid = await must(
      customer.api.POST('/checkout', {
        body: { items: order.items.map((item) => ({ productId: products.get(item.product)!.id, quantity: item.quantity })), userCouponId },
        params: key(`order ${order.userId} ${index}`),
      }),
      `${order.userId}'s order ${index + 1}`,
    );
    placed += 1;
    lastPosition = paid.position ?? lastPosition;
  }
  travel(0);
  log(`${placed} orders placed (${ORDERS.length - placed} were there)`);

  // The ranking once the daily sales have counted the last order (it is cached for a few seconds after).
  const consistent = lastPosition ? { header: { 'X-Consistent-With': lastPosition } } : {};
  await must(admin.GET('/admin/popular-products/check', { params: { ...consistent, query: { days: 3 } } }), 'the ranking check');
  const popular = await must(anonymous.GET('/products/popular', { params: { query: { days: 3, limit: 5 } } }), 'the ranking');

  const coupons = new Map<CouponName, { couponId: string; remainingQuantity: number }>();
  for (const { name } of COUPONS) {
    const couponId = campaigns.get(name)!;
    const coupon = await must(anonymous.GET('/coupons/{couponId}', { params: { path: { couponId } } }), name);
    coupons.set(name, { couponId, remainingQuantity: coupon.remainingQuantity });
  }
  return { tokens, products, coupons, placed, ranking: popular.items.map(({ rank, name, soldQuantity }) => ({ rank, name, soldQuantity })) };
}
