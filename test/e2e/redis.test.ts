import { Redis } from 'ioredis';
import { Cluster, ok } from './support/cluster';
import { apiReady, throwAwayRedis, until } from './support/processes';
import { couponRush, stockRush, walletRush } from './support/rushes';
import { describeRushes, expectSound } from './support/verdict';

jest.setTimeout(180_000);

describe('Redis stopped in the middle of a rush and started again (empty)', () => {
  let redis: Awaited<ReturnType<typeof throwAwayRedis>>;
  let cluster: Cluster;
  beforeAll(async () => {
    redis = await throwAwayRedis();
    cluster = await Cluster.start({ apis: 2, projectors: 1, redisUrl: redis.url });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
    await redis?.server.stop('SIGKILL');
  });

  it('accepts nothing wrongly, then rebuilds the coupon gate and the ranking from the log and the caches recover', async () => {
    const coupons = await couponRush(cluster, 'redis', 1_500, 50);
    const stock = await stockRush(cluster, 'redis', 150, 10);
    const wallets = await walletRush(cluster, 'redis', 3, 20, 20);
    const rushes = [coupons, stock, wallets];
    const running = Promise.all(rushes.map((rush) => rush.run()));

    await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 300));
    await redis.server.stop('SIGKILL');
    // Every API process notices (its /ready names Redis) before Redis comes back.
    await until(async () => (await Promise.all(cluster.apis.map(async (api) => !(await apiReady(api.port!).catch(() => false))))).every(Boolean), 'the APIs to report Redis down', 10_000);
    await redis.restart();
    await until(async () => (await Promise.all(cluster.apis.map((api) => apiReady(api.port!)))).every(Boolean), 'the APIs to be ready again', 20_000);
    await running;
    console.log(`rushes with Redis stopped and restarted:\n${describeRushes(rushes)}`);

    // Paid orders after the restart: the ranking must hold those before it too, refilled from the read model.
    const late = await stockRush(cluster, 'redis-late', 5, 5);
    await late.run();
    await expectSound(cluster, [...rushes, late], false);

    const client = new Redis(redis.url);
    try {
      const prefix = cluster.env.REDIS_PREFIX;
      // The gate is seeded again from the coupon's stream and turns the late-comers away.
      const log = await cluster.readLog();
      const issued = log.holders.get(coupons.couponId)?.size ?? 0;
      const lateComer = await cluster.call({ method: 'POST', path: `/coupons/${coupons.couponId}/issue`, token: await cluster.token('redis-late-comer') });
      expect(lateComer).toMatchObject(issued === 50 ? { status: 409, body: { code: 'COUPON_SOLD_OUT' } } : { status: 201 });
      expect(await client.exists(`${prefix}gate:{${coupons.couponId}}`)).toBe(1);
      // The product is cached in Redis again, and what it says is the log's stock.
      const product = (await cluster.must({ method: 'GET', path: `/products/${stock.productId}` })) as { stock: number };
      expect(product.stock).toBe(log.stock.get(stock.productId));
      await until(async () => (await client.exists(`${prefix}cache:entry:product:${stock.productId}`)) === 1, 'the product to be cached again', 5_000);
      // The ranking was refilled (verify compared it with a recount above) and is marked whole again.
      expect(await client.exists(`${prefix}sales:intact`)).toBe(1);
      expect(ok(await cluster.call({ method: 'GET', path: '/products/popular?days=1&limit=5' }))).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});
