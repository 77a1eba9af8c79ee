/**
 * `npm run bench:read-your-writes`: how long a user's next read waits for their own write
 * (read-your-writes, docs/API.md), and what the look-up of the user's latest write costs a read
 * by a user with no recent write. Three instances of the built server share one embedded store
 * and one Redis: A runs the projections; B and C do not, and C has READ_YOUR_WRITES=false, so
 * the same reads sent to B and to C, in turns, differ only by the look-up.
 *
 *   --pairs N         write-then-read pairs per case (default 300)
 *   --concurrency N   users writing and reading at once (default 8)
 *   --reads N         reads per instance in each look-up comparison (default 2000)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
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
const READS = argument('reads', 2_000);
/** In flight at once when the look-up's cost is measured as throughput. */
const LOADED = 32;

const quantile = (values: readonly number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const ms = (value: number) => value.toFixed(2);

/** fetch costs the client far more than the server spends on a read: the comparisons use a bare keep-alive agent. */
const agent = new Agent({ keepAlive: true, maxSockets: LOADED });

function get(server: ServerProcess, path: string, token?: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const { port } = new URL(server.url);
    const req = request({ host: '127.0.0.1', port, path, agent, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolvePromise(performance.now() - started) : reject(new Error(`GET ${path} on ${server.name} answered ${res.statusCode}`))));
    });
    // A kept-alive socket the server closed as it was reused: Node's documented case for sending again.
    req.on('error', (error: NodeJS.ErrnoException) => (req.reusedSocket && error.code === 'ECONNRESET' ? get(server, path, token).then(resolvePromise, reject) : reject(error)));
    req.end();
  });
}

async function timed(task: () => Promise<{ status: number }>): Promise<number> {
  const started = performance.now();
  const { status } = await task();
  if (status !== 200) throw new Error(`a read answered ${status}`);
  return performance.now() - started;
}

interface Side {
  readonly latencies: number[];
  cpuMs: number;
  wallMs: number;
}

/**
 * The same reads against two instances in alternating rounds (which one goes first alternates
 * too), so that whatever else the machine does falls on both alike.
 */
async function compare(pair: readonly [ServerProcess, ServerProcess], rounds: number, read: (server: ServerProcess, i: number) => Promise<number>, width: number) {
  const sides: [Side, Side] = [
    { latencies: [], cpuMs: 0, wallMs: 0 },
    { latencies: [], cpuMs: 0, wallMs: 0 },
  ];
  const perRound = Math.ceil(READS / rounds);
  for (let round = 0; round < rounds; round++) {
    for (const which of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const server = pair[which];
      const cpu = server.cpuMs();
      const started = performance.now();
      const latencies = await inParallel(
        Array.from({ length: perRound }, (_, i) => round * perRound + i),
        width,
        (i) => read(server, i),
      );
      sides[which].wallMs += performance.now() - started;
      sides[which].cpuMs += server.cpuMs() - cpu;
      sides[which].latencies.push(...latencies);
    }
  }
  return sides;
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
    servers.push(await startNodeServer({ name: 'C (no look-up)', script, env: { ...env, RUN_PROJECTIONS: 'false', READ_YOUR_WRITES: 'false' }, readyPath: '/ready' }));
    const [a, b, c] = servers;
    const tokens = new Tokens(secret);
    const admin = await tokens.mint('bench-admin', 'admin');
    const product = await call(a.url, 'POST', '/admin/products', { token: admin, body: { name: 'Bench lamp', price: 100, stock: 1_000_000 } });
    // Users of their own for each case: one who wrote in an earlier case would wait for it (the TTL is minutes).
    const usersFor = (label: string, count = PAIRS) => tokens.mintMany(Array.from({ length: count }, (_, i) => `ryw-${label}-${i}`));

    // What the look-up costs a user with no recent write: the same reads on B (look-up) and C (none).
    const idle = await usersFor('idle', 200);
    const customer = idle[0];
    // Warm both up: the token cache, the product in the near cache, the JIT.
    for (const server of [b, c]) await inParallel(idle, 8, (token) => get(server, '/me/points', token));
    for (const server of [b, c]) await get(server, `/products/${product.body.id}`, customer);
    const lookups: string[] = [];
    const row = (what: string, [on, off]: [Side, Side], width: number) => {
      const perSecond = (side: Side) => (side.latencies.length / side.wallMs) * 1000;
      const cpuUs = (side: Side) => (side.cpuMs * 1000) / side.latencies.length;
      lookups.push(
        `| ${what}, ${width} in flight | ${ms(quantile(on.latencies, 0.5))} / ${ms(quantile(off.latencies, 0.5))} | ${ms(quantile(on.latencies, 0.99))} / ${ms(quantile(off.latencies, 0.99))} | ` +
          `${Math.round(perSecond(on))} / ${Math.round(perSecond(off))} | ${Math.round(cpuUs(on))} / ${Math.round(cpuUs(off))} |`,
      );
    };
    for (const width of [1, LOADED]) {
      row('GET /me/points, no recent write', await compare([b, c], 6, (server, i) => get(server, '/me/points', idle[i % idle.length]), width), width);
    }
    row(`GET /products/{id} with a customer's token`, await compare([b, c], 6, (server) => get(server, `/products/${product.body.id}`, customer), 1), 1);
    row('GET /products/{id} without a token', await compare([b, c], 6, (server) => get(server, `/products/${product.body.id}`), 1), 1);

    // How long a user's next read waits for their own write.
    const rows: string[] = [];
    const report = (what: string, waits: readonly number[]) =>
      rows.push(`| ${what} | ${waits.length} | ${ms(quantile(waits, 0.5))} | ${ms(quantile(waits, 0.99))} |`);
    for (const [name, reader] of [['A', a], ['B', b]] as const) {
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
    process.stdout.write(
      `the look-up of a user's latest write: B (with it) / C (READ_YOUR_WRITES=false), ${READS} reads each in alternating rounds\n\n` +
        `| read | p50 ms | p99 ms | req/s | server CPU µs per read |\n|---|---|---|---|---|\n${lookups.join('\n')}\n\n` +
        `the wait for one's own write, ${CONCURRENCY} users at once (ms from the write's answer to the read's)\n\n` +
        `| read | n | p50 ms | p99 ms |\n|---|---|---|---|\n${rows.join('\n')}\n`,
    );
  } finally {
    agent.destroy();
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
