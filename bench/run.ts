/**
 * `npm run bench`: measures the built server (dist/src/main.js) beside two reference servers on
 * the same machine, in the same run, with autocannon driven from this process (every server is
 * a child process of its own). See docs/BENCHMARKS.md.
 *
 *   --quick             4 s per scenario after 1 s of warm-up, log sizes 1 and 1,000,000, streams of 0 and 100,000 (a busy host)
 *   --duration S        measured seconds per scenario (default 8)
 *   --warmup S          warm-up seconds before each (default 2)
 *   --connections N     concurrent connections (default 50)
 *   --scale a,b,c       filler events for the log-size runs (default 1,10000,1000000; "none" skips)
 *   --only id,id        run only these scenarios (charge, products, product, popular, coupon-rush, checkout, checkout-hot, my-orders,
 *                       log-size: the charge and checkout on logs of --scale sizes, on every --store; peers: the stores beside Emmett's,
 *                       with --peers and/or --pg-peers; the reference servers are measured in every run)
 *   --profile           run the app under `node --cpu-prof`; profiles and their summaries go to bench/results/profiles/
 *   --keep              keep the temporary data directories
 *   --store S,S         the stores the scenarios and the log-size runs run on, in turn (sqlite, postgres; default sqlite); postgres is a cluster
 *                       of the bench's own (initdb + pg_ctl on a free port), its server CPU counted beside the app's
 *   --peers DIR         also measure Emmett's SQLite event store, installed in DIR (not a dependency of this repository)
 *   --pg-peers DIR      also measure Emmett's PostgreSQL event store, installed in DIR, beside ours on a cluster of the bench's own
 *   --coupons N         coupon campaigns the checkout buyers' coupons come from (default 1000)
 *   --app-env K=V,K=V   extra configuration for the app (experiments; recorded in the report)
 *   --app-root DIR      run the app from DIR/dist instead of this repository's (A/B of a patched build)
 *   --projector-process the projections in a process of their own (`npm run projector`), the app with RUN_PROJECTIONS=false
 *   --pause-projections with --projector-process: the projector is stopped (SIGSTOP) while checkout's full load runs, so the
 *                       figure is the write path alone; it resumes and catches up before anything is checked
 * A run with --only, --store other than sqlite, --profile, --app-env, --app-root, --projector-process or --pause-projections writes bench/results/partial-<run>.* instead of latest.*.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { BenchPostgres } from './lib/postgres';
import { LoadStats } from './lib/load';
import { summariseProfile } from './lib/profile';
import { BenchReport, goalMet, goalText, markdown, ScaleResult, ScenarioResult, scaleSvg, throughputSvg } from './lib/report';
import { seedShop } from './lib/seed';
import { logView, seedLog } from './lib/store';
import { ROOT, RESULTS, PROFILES, settings, wants, runId, redisPrefix, tokens, started, tempDirs, log, tempDir, start, stop, startApp, caughtUp, takeLoadBusy, takeDatabaseCpu, AppDatabase, amountFor, settled, measureReference, MainContext, Measured } from './lib/harness';
import { chargeMain } from './scenarios/charge';
import { productsList, productDetail, popular } from './scenarios/reads';
import { couponRush } from './scenarios/coupon-rush';
import { scaleRun } from './scenarios/log-size';
import { Pool, checkout } from './scenarios/checkout';
import { myOrders, placeUserOrders } from './scenarios/my-orders';
import { streamLength } from './lib/stream-length';
import { postgresPeers, sqlitePeers } from './scenarios/peers';

/** The scenarios on one app over one seeded store, each beside an Express run of its own. */
async function mainRun(dataPlatformUrl: string, scenarios: ScenarioResult[], store: 'sqlite' | 'postgres', database?: AppDatabase): Promise<{ chargeRps: number; checkoutRps: number }> {
  const dataDir = tempDir(`main-${store}`);
  const t0 = Date.now();
  const ordersUserId = 'orders-user';
  const fixtures = await seedLog(dataDir, database, (seeder) =>
    seedShop(seeder, {
      tag: 'main',
      products: settings.products,
      stock: 1_000_000,
      coupons: settings.checkoutCoupons,
      buyers: wants('checkout') ? settings.checkoutBuyers : 0,
      hotBuyers: wants('checkout-hot') ? settings.hotBuyers : 0,
      points: 1_000_000,
      extraWallets: [{ userId: ordersUserId, points: 5_000_000 }],
    }),
  );
  log(`main (${store}): seeded ${fixtures.products.length} products, ${fixtures.buyers.length} buyers with points and a coupon in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const server = await startApp(`eventmart-main-${store}`, dataDir, `main-${store}`, dataPlatformUrl, settings.profile, database);
  const admin = await tokens.mint('bench-admin', 'admin');
  const reader = await logView(dataDir, database);
  try {
    log(`main: projections caught up in ${(await caughtUp(server, admin)).toFixed(1)} s`);
    const ctx: MainContext = { server, admin, reader, fixtures, ordersUser: { userId: ordersUserId, token: await tokens.mint(ordersUserId) } };
    const t1 = Date.now();
    const expectedPopular = await placeUserOrders(ctx);
    await caughtUp(server, admin);
    log(`main: ${settings.userOrders} set-up orders placed over HTTP in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    const pool: Pool = { buyers: fixtures.buyers, tokens: await tokens.mintMany(fixtures.buyers.map((b) => b.userId)), next: 0 };
    const hotPool: Pool = { buyers: fixtures.hotBuyers, tokens: await tokens.mintMany(fixtures.hotBuyers.map((b) => b.userId)), next: 0 };

    const plan: Array<[string, () => Promise<Measured>]> = [
      ['charge', () => chargeMain(ctx)],
      ['products', () => productsList(ctx)],
      ['product', () => productDetail(ctx)],
      ['popular', () => popular(ctx, expectedPopular.map(([id, n]) => [id, n]))],
      ['coupon-rush', () => couponRush(ctx)],
      ['checkout', () => checkout(ctx, pool, 'spread')],
      ['checkout-hot', () => checkout(ctx, hotPool, 'hot')],
      ['my-orders', () => myOrders(ctx)],
    ];
    let chargeRps = 0;
    let checkoutRps = 0;
    for (const [id, run] of plan) {
      if (!wants(id)) continue;
      await reader.refresh();
      // The yardstick is measured right before each scenario: this machine's speed drifts by
      // half within minutes (other tenants), and a ratio against a run minutes away showed it.
      const idleMs = await settled(server);
      const beside = await measureReference('express', settings.besideSeconds, ` (beside ${id}; app idle after ${idleMs} ms)`);
      takeLoadBusy();
      takeDatabaseCpu();
      const run1 = await run();
      const measured = { ...run1, id: store === 'sqlite' ? run1.id : `${run1.id}@${store}`, title: store === 'sqlite' ? run1.title : `${run1.title} [${store}]`, store, databaseCpuUsPerRequest: takeDatabaseCpu(), besideExpressRps: beside.rps, besideExpressCpuUsPerRequest: beside.cpuUsPerRequest, busy: takeLoadBusy() };
      const ratio = measured.stats.rps / beside.rps;
      const met = measured.goal ? goalMet(measured.goal, ratio, measured.serverCpuUsPerRequest / beside.cpuUsPerRequest, measured.halfLoad?.latencyMs.p99) : undefined;
      scenarios.push({ ...measured, ratio, met });
      const failed = measured.checks.filter((c) => !c.ok);
      log(
        `${measured.title}: ${Math.round(measured.stats.rps)} req/s (${ratio.toFixed(2)}× Express), p50 ${measured.stats.latencyMs.p50} ms, p99 ${measured.stats.latencyMs.p99} ms, ` +
          `${measured.stats.errors} errors, ${measured.unexpected} unexpected; CPU ${Math.round(measured.serverCpuUsPerRequest)} µs/req${measured.databaseCpuUsPerRequest === undefined ? '' : ` + PostgreSQL ${Math.round(measured.databaseCpuUsPerRequest)} µs/req`}; ` +
          `busy: machine ${Math.round(measured.busy?.machinePercent ?? NaN)} %, app main thread ${Math.round(measured.busy?.mainThreadPercent ?? NaN)} %; checks ${failed.length === 0 ? 'ok' : 'FAILED: ' + failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`,
      );
      if (id === 'charge') chargeRps = measured.stats.rps;
      if (id === 'checkout') checkoutRps = measured.stats.rps;
    }
    return { chargeRps, checkoutRps };
  } finally {
    await reader.close();
    await stop(server);
  }
}


/** The scenarios mainRun measures (the log-size runs, `log-size`, are apart). */
const MAIN_SCENARIOS = ['charge', 'products', 'product', 'popular', 'coupon-rush', 'checkout', 'checkout-hot', 'my-orders'];

/**
 * The log-size runs on one store, `database(filler)` naming a schema of its own per size on
 * PostgreSQL. The same request counts at every size, so the CPU per command compares like with
 * like (sized from the main run's throughput when it ran).
 */
async function logSizeRuns(dataPlatformUrl: string, chargeRps: number, checkoutRps: number, database?: (filler: number) => AppDatabase): Promise<ScaleResult[]> {
  const chargeAmount = amountFor(chargeRps, settings.durationSeconds, 2_000, 100_000);
  const checkoutAmount = amountFor(checkoutRps, settings.durationSeconds, 1_000, 30_000);
  const runs: ScaleResult[] = [];
  for (const filler of settings.scale) runs.push(await scaleRun(filler, dataPlatformUrl, chargeAmount, checkoutAmount, database?.(filler)));
  return runs;
}

async function machine(): Promise<Record<string, string | number>> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  let redis = 'unknown';
  const client = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    redis = (await client.info('server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
  return {
    cpuModel: model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `Linux ${release()}`,
    redis,
    loadAverageAtStart: loadavg().map((n) => n.toFixed(2)).join(' '),
  };
}

async function deleteRedisKeys(prefix: string): Promise<number> {
  const client = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** The PostgreSQL clusters this run started (destroyed at the end, also after a failure or Ctrl-C). */
const databases: BenchPostgres[] = [];

/** `use` on a PostgreSQL cluster of the bench's own, destroyed after it (or by cleanUp after a Ctrl-C). */
async function onBenchPostgres<T>(purpose: string, use: (server: BenchPostgres) => Promise<T>): Promise<T> {
  const server = await BenchPostgres.create();
  databases.push(server);
  log(`${purpose}: a cluster of the bench's own on 127.0.0.1:${server.port} (PostgreSQL ${server.version}, fsync on)`);
  try {
    return await use(server);
  } finally {
    await server.destroy();
    databases.splice(databases.indexOf(server), 1);
  }
}

async function cleanUp(): Promise<void> {
  for (const server of [...started]) await server.stop().catch(() => undefined);
  for (const database of databases.splice(0)) await database.destroy().catch((error) => log(`could not remove the bench's PostgreSQL: ${error}`));
  const deleted = await deleteRedisKeys(redisPrefix).catch((error) => {
    log(`could not delete Redis keys under ${redisPrefix}: ${error}`);
    return 0;
  });
  log(`deleted ${deleted} Redis keys under ${redisPrefix}`);
  if (!settings.keep) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'src', 'main.js'))) throw new Error('dist/src/main.js is missing: run `npm run build` first (npm run bench does)');
  if (settings.pauseProjections && !settings.projectorProcess) throw new Error('--pause-projections stops the projector process: add --projector-process');
  const startedAt = new Date();
  mkdirSync(RESULTS, { recursive: true });
  if (settings.profile) mkdirSync(PROFILES, { recursive: true });
  const machineInfo = await machine();
  log(`machine: ${JSON.stringify(machineInfo)}; run ${runId}; Redis prefix ${redisPrefix}`);

  const reference = { http: [] as Array<LoadStats & { cpuUsPerRequest: number }>, express: [] as Array<LoadStats & { cpuUsPerRequest: number }> };
  reference.http.push(await measureReference('http'));
  reference.express.push(await measureReference('express'));
  const expressRps = () => reference.express.reduce((sum, s) => sum + s.rps, 0) / reference.express.length;

  // The data platform the outbox delivers to runs in a process of its own, as it would in production.
  const mock = await start({ name: 'mock-data-platform', script: join(ROOT, 'dist', 'src', 'data-platform', 'mock-main.js'), env: {}, readyPath: '/_mock' });
  const scenarios: ScenarioResult[] = [];
  const scale: ScaleResult[] = [];
  try {
    let chargeRps = 0;
    let checkoutRps = 0;
    const mainScenarios = MAIN_SCENARIOS.some(wants);
    for (const store of settings.stores) {
      if (store === 'sqlite') {
        if (mainScenarios) ({ chargeRps, checkoutRps } = await mainRun(mock.url, scenarios, store));
        if (wants('log-size')) scale.push(...(await logSizeRuns(mock.url, chargeRps, checkoutRps)));
        continue;
      }
      await onBenchPostgres('postgres', async (server) => {
        const database = (schema: string) => ({ url: server.url, schema, cpuMs: () => server.cpuMs() });
        let rps = { chargeRps: 0, checkoutRps: 0 };
        if (mainScenarios) rps = await mainRun(mock.url, scenarios, store, database('bench_main'));
        if (wants('log-size')) scale.push(...(await logSizeRuns(mock.url, rps.chargeRps, rps.checkoutRps, (filler) => database(`bench_scale_${filler}`))));
      });
    }
  } finally {
    await stop(mock);
  }
  if (settings.only === null && !settings.stores.includes('sqlite')) {
    log('skipped on postgres: the stream-length model (it runs in the bench process on SQLite files; see docs/BENCHMARKS.md)');
  }
  let streams: Awaited<ReturnType<typeof streamLength>> = [];
  const COLD_LOAD_GOAL_MS = 20;
  if (settings.only === null && settings.stores.includes('sqlite')) {
    streams = await streamLength(settings.streamLengths);
    for (const r of streams) log(`${r.aggregate} with ${r.priorOrders} orders in its stream: cold load ${r.foldAllMs.toFixed(1)} ms whole, ${r.coldLoadMs.toFixed(1)} ms from its snapshot + ${r.tail} events (CPU ${r.coldLoadCpuMs.toFixed(1)} ms), ${Math.round(r.usPerCommand)} µs per command`);
  }
  const peerRows = wants('peers') && settings.peers !== null ? await sqlitePeers(resolve(settings.peers)) : [];
  if (wants('peers') && settings.pgPeers !== null) peerRows.push(...(await onBenchPostgres('peers', (server) => postgresPeers(resolve(settings.pgPeers!), server))));
  for (const r of peerRows) {
    const server = r.databaseCpuUsPerOperation === undefined ? '' : ` + PostgreSQL ${Math.round(r.databaseCpuUsPerOperation)} µs`;
    log(`${r.measurement}, ${r.store}: ${r.error ?? `${Math.round(r.perSecond)}/s, ${Math.round(r.cpuUsPerOperation)} µs CPU${server}`}`);
  }
  // The yardsticks once more at the end: the ratios use the mean, and a drift shows in the report.
  reference.express.push(await measureReference('express'));
  reference.http.push(await measureReference('http'));

  const finishedAt = new Date();
  machineInfo.loadAverageAtEnd = loadavg().map((n) => n.toFixed(2)).join(' ');
  const express = expressRps();
  const goals: BenchReport['goals'] = scenarios
    .filter((s) => s.goal)
    .map((s) => ({
      goal: `${s.title}: ${goalText(s.goal!, ' × Express')}`,
      met: s.met!,
      measured:
        `${(s.ratio ?? 0).toFixed(2)} × Express (${Math.round(s.besideExpressRps ?? 0)} req/s just before); CPU ${Math.round(s.serverCpuUsPerRequest)} µs = ` +
        `${(s.serverCpuUsPerRequest / (s.besideExpressCpuUsPerRequest ?? NaN)).toFixed(1)} × Express's ${Math.round(s.besideExpressCpuUsPerRequest ?? NaN)}` +
        `${s.halfLoad ? `; p99 ${s.halfLoad.latencyMs.p99} ms at ${Math.round(s.halfLoad.targetRps)} req/s` : ''}`,
    }));
  const spread = scenarios.find((s) => s.id === 'checkout');
  const hot = scenarios.find((s) => s.id === 'checkout-hot');
  if (spread && hot) {
    const times = hot.serverCpuUsPerRequest / spread.serverCpuUsPerRequest;
    goals.push({
      goal: `${hot.title}: CPU per checkout ≤ 1.2 × the spread checkout's`,
      met: times <= 1.2,
      measured: `${Math.round(hot.serverCpuUsPerRequest)} against ${Math.round(spread.serverCpuUsPerRequest)} µs (${times.toFixed(2)}×)`,
    });
  }
  for (const store of settings.stores) {
    const runs = scale.filter((r) => r.store === store);
    if (runs.length < 2) continue;
    const [first, last] = [runs[0], runs[runs.length - 1]];
    for (const kind of ['charge', 'checkout'] as const) {
      const growth = last[kind].cpuUsPerRequest / first[kind].cpuUsPerRequest;
      goals.push({
        goal: `${kind}${store === 'sqlite' ? '' : ` [${store}]`}: CPU per command does not grow with the log (${last.eventsAtStart.toLocaleString('en-US')} vs ${first.eventsAtStart.toLocaleString('en-US')} events, ≤ 1.1×)`,
        met: growth <= 1.1,
        measured: `${Math.round(first[kind].cpuUsPerRequest)} → ${Math.round(last[kind].cpuUsPerRequest)} µs (${growth.toFixed(2)}×); req/s ${Math.round(first[kind].stats.rps)} → ${Math.round(last[kind].stats.rps)}`,
      });
    }
  }
  if (streams.length > 0) {
    for (const aggregate of ['product', 'wallet'] as const) {
      const rows = streams.filter((r) => r.aggregate === aggregate);
      const [first, last] = [rows[0], rows[rows.length - 1]];
      const growth = last.usPerCommand / first.usPerCommand;
      goals.push({
        goal: `${aggregate}: cost per command does not grow with the aggregate's own stream (${last.priorOrders.toLocaleString('en-US')} vs ${first.priorOrders} orders, ≤ 1.5×)`,
        met: growth <= 1.5,
        measured: `${Math.round(first.usPerCommand)} → ${Math.round(last.usPerCommand)} µs (${growth.toFixed(2)}×)`,
      });
      goals.push({
        goal: `${aggregate}: cold load with ${last.priorOrders.toLocaleString('en-US')} events in its stream ≤ ${COLD_LOAD_GOAL_MS} ms`,
        met: last.coldLoadMs <= COLD_LOAD_GOAL_MS,
        measured: `${last.coldLoadMs.toFixed(1)} ms (CPU ${last.coldLoadCpuMs.toFixed(1)} ms) from its snapshot + ${last.tail} events; ${last.foldAllMs.toFixed(0)} ms folding the whole stream`,
      });
    }
  }
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine: machineInfo,
    settings: { ...settings, only: settings.only ? [...settings.only] : null, sqliteSynchronous: 'FULL (default)', redis: 'REDIS_URL set (locks, cache, gate, ranking, idempotency in Redis)' },
    reference: { ...reference, expressRps: express, httpRps: reference.http.reduce((sum, s) => sum + s.rps, 0) / reference.http.length },
    scenarios,
    scale,
    streams,
    peers: peerRows,
    goals,
  };
  // Only a plain run of this repository's build is "latest"; experiments are kept beside it.
  const partial = settings.only !== null || settings.stores.join() !== 'sqlite' || settings.profile || settings.appRoot !== ROOT || Object.keys(settings.appEnv).length > 0 || settings.projectorProcess || settings.pauseProjections;
  const base = partial ? `partial-${runId}` : 'latest';
  writeFileSync(join(RESULTS, `${base}.json`), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(RESULTS, `${base}.md`), markdown(report));
  if (!partial) {
    writeFileSync(join(RESULTS, 'throughput.svg'), throughputSvg(report));
    if (scale.length > 0) writeFileSync(join(RESULTS, 'scale.svg'), scaleSvg(report));
  }
  log(`wrote bench/results/${base}.json and .md${partial ? '' : ', throughput.svg, scale.svg'}`);
  if (settings.profile) {
    for (const file of readdirSync(PROFILES).filter((f) => f.endsWith(`${runId}.cpuprofile`))) {
      const summary = summariseProfile(join(PROFILES, file));
      writeFileSync(join(PROFILES, file.replace(/\.cpuprofile$/, '.txt')), summary);
      log(`profile summary: bench/results/profiles/${file.replace(/\.cpuprofile$/, '.txt')}\n${summary.split('\n').slice(0, 30).join('\n')}`);
    }
  }
  process.stdout.write('\n' + markdown(report));
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping the servers this run started and deleting its Redis keys');
  void cleanUp().finally(() => process.exit(130));
});

main()
  .then(cleanUp)
  .catch(async (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    for (const server of started) process.stderr.write(`--- ${server.name} stderr ---\n${server.stderr().slice(-4000)}\n`);
    await cleanUp();
    process.exit(1);
  });
