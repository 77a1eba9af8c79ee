/**
 * `npm run bench:read-your-writes`: how long a user's next read waits for their own write
 * (read-your-writes, docs/API.md), next to a read by a user with no recent write. Two instances
 * of the built server share one embedded store and one Redis: A runs the projections, B does
 * not (`RUN_PROJECTIONS=false`); every write goes to A, and its read to A or to B.
 *
 *   --pairs N         write-then-read pairs per case (default 300)
 *   --concurrency N   users writing and reading at once (default 8)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { call, inParallel, Tokens } from './lib/api';
import { ServerProcess, startNodeServer } from './lib/processes';

const ROOT = resolve(__dirname, '..', '..');
const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
};
const PAIRS = argument('pairs', 300);
const CONCURRENCY = argument('concurrency', 8);

const quantile = (values: readonly number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const ms = (value: number) => value.toFixed(2);

async function timed(task: () => Promise<{ status: number }>): Promise<number> {
  const started = performance.now();
  const { status } = await task();
  if (status !== 200) throw new Error(`a read answered ${status}`);
  return performance.now() - started;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'eventmart-bench-ryw-'));
  const secret = randomBytes(32).toString('base64');
  const env = {
    DATA_DIR: dataDir,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `eventmart-bench-ryw:${randomUUID()}:`,
    JWT_SECRET: secret,
    PAYER_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'warn',
    DELIVERY_WORKERS: '0',
    RATE_LIMIT_WRITE_PER_USER: '0',
    RATE_LIMIT_WRITE_PER_IP: '0',
  };
  const script = join(ROOT, 'dist', 'src', 'main.js');
  const servers: ServerProcess[] = [];
  try {
    servers.push(await startNodeServer({ name: 'A (projections)', script, env: { ...env, RUN_PROJECTIONS: 'true' }, readyPath: '/ready' }));
    servers.push(await startNodeServer({ name: 'B', script, env: { ...env, RUN_PROJECTIONS: 'false' }, readyPath: '/ready' }));
    const [a, b] = servers;
    const tokens = new Tokens(secret);
    const admin = await tokens.mint('bench-admin', 'admin');
    const product = await call(a.url, 'POST', '/admin/products', { token: admin, body: { name: 'Bench lamp', price: 100, stock: 1_000_000 } });
    // Users of their own for each case: one who wrote in an earlier case would wait for it (the TTL is minutes).
    const usersFor = (label: string) => tokens.mintMany(Array.from({ length: PAIRS }, (_, i) => `ryw-${label}-${i}`));

    const rows: string[] = [];
    const report = (what: string, waits: readonly number[]) =>
      rows.push(`| ${what} | ${waits.length} | ${ms(quantile(waits, 0.5))} | ${ms(quantile(waits, 0.99))} |`);

    for (const [name, reader] of [['A', a], ['B', b]] as const) {
      // Users who wrote nothing: what every read pays for the look-up of their latest write.
      const idle = await usersFor(`idle-${name}`);
      report(`GET /me/points on ${name}, no recent write`, await inParallel(idle, CONCURRENCY, (token) => timed(() => call(reader.url, 'GET', '/me/points', { token }))));
      const charge = (token: string) => call(a.url, 'POST', '/me/points/charge', { token, body: { amount: 1_000 } });
      report(
        `charge on A, then GET /me/points on ${name}`,
        await inParallel(await usersFor(`charge-${name}`), CONCURRENCY, async (token) => {
          const charged = await charge(token);
          if (charged.status !== 200) throw new Error(`charge answered ${charged.status}`);
          return timed(() => call(reader.url, 'GET', '/me/points', { token }));
        }),
      );
      const buyers = await usersFor(`checkout-${name}`);
      await inParallel(buyers, CONCURRENCY, charge);
      // Past the charges: the timed reads below wait for their checkout alone.
      await inParallel(buyers, CONCURRENCY, (token) => call(reader.url, 'GET', '/me/points', { token }));
      report(
        `checkout on A, then GET /me/orders/{id} on ${name}`,
        await inParallel(buyers, CONCURRENCY, async (token) => {
          const order = await call(a.url, 'POST', '/checkout', { token, body: { items: [{ productId: product.body.id, quantity: 1 }] } });
          if (order.status !== 201) throw new Error(`checkout answered ${order.status}: ${JSON.stringify(order.body)}`);
          return timed(() => call(reader.url, 'GET', `/me/orders/${order.body.orderId}`, { token }));
        }),
      );
    }
    process.stdout.write(`read-your-writes, ${CONCURRENCY} users at once (ms from the write's answer to the read's)\n\n| read | n | p50 ms | p99 ms |\n|---|---|---|---|\n${rows.join('\n')}\n`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    const redis = new Redis(env.REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.REDIS_PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
