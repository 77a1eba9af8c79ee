/** What the runner and every scenario share: the settings, the processes started, the measuring helpers. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { call, LogView, Tokens } from './api';
import { cannon, LoadStats } from './load';
import { machineTicks, ServerProcess, startNodeServer } from './processes';
import { Check, ScenarioResult } from './report';
import { Fixtures } from './seed';


export const ROOT = resolve(__dirname, '..', '..', '..');
export const RESULTS = join(ROOT, 'bench', 'results');
export const PROFILES = join(RESULTS, 'profiles');

export function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const value = args[i + 1];
  return value === undefined || value.startsWith('--') ? 'true' : value;
}

export const settings = {
  /** --quick: shorter scenarios and fewer sizes, for a host too busy for the full run (recorded in the report). */
  quick: option('quick') === 'true',
  durationSeconds: Number(option('duration') ?? (option('quick') === 'true' ? 4 : 8)),
  /** Seconds of the Express hello-world measured right before each scenario (its ratio's denominator). */
  besideSeconds: 4,
  warmupSeconds: Number(option('warmup') ?? (option('quick') === 'true' ? 1 : 2)),
  connections: Number(option('connections') ?? 50),
  scale: option('scale') === 'none' ? [] : (option('scale') ?? (option('quick') === 'true' ? '1,1000000' : '1,10000,1000000')).split(',').map(Number),
  only: option('only') ? new Set(option('only')!.split(',')) : null,
  profile: option('profile') === 'true',
  keep: option('keep') === 'true',
  /** A directory where `@event-driven-io/emmett-sqlite` is installed: its event store is measured beside ours (bench/scenarios/peers.ts). */
  peers: option('peers') ?? null,
  /** A directory where `@event-driven-io/emmett-postgresql` is installed (its core conflicts with the SQLite one's, hence apart). */
  pgPeers: option('pg-peers') ?? null,
  /** Where the app's dist/ is (experiments with a patched build; default this repository). */
  appRoot: resolve(option('app-root') ?? ROOT),
  /** Extra app configuration for experiments (recorded in the report), e.g. --app-env SQLITE_SYNCHRONOUS=NORMAL. */
  appEnv: Object.fromEntries((option('app-env') ?? '').split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) as Record<string, string>,
  /**
   * The cluster's layout on this one machine: the projections run in `dist/projections/main.js`
   * beside an app started with RUN_PROJECTIONS=false. CPU per request counts both processes.
   */
  projectorProcess: option('projector-process') === 'true',
  /** The write path's own ceiling: checkout's full load with the projector process stopped (needs projectorProcess). */
  pauseProjections: option('pause-projections') === 'true',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  /**
   * The stores the main scenarios run on, one after the other in the same run (--store
   * sqlite,postgres): the embedded SQLite files, or a PostgreSQL cluster of the bench's own (DATABASE_URL).
   */
  stores: (option('store') ?? 'sqlite').split(',').map((s) => {
    if (s !== 'sqlite' && s !== 'postgres') throw new Error(`--store: sqlite or postgres, not ${s}`);
    return s;
  }) as Array<'sqlite' | 'postgres'>,
  /** Products in the catalogue; checkout buys 3 of them per request. */
  products: 100,
  /** Coupon campaigns the checkout buyers' coupons come from. */
  checkoutCoupons: Number(option('coupons') ?? 1000),
  /** Buyers seeded for the checkout scenario (each used once). */
  checkoutBuyers: 30_000,
  /** Buyers seeded for the one-campaign checkout (all hold a coupon of the same campaign). */
  hotBuyers: 6_000,
  /** Orders already in an aggregate's stream, for the stream-length measurement. */
  streamLengths: option('quick') === 'true' ? [0, 100_000] : [0, 1_000, 10_000, 100_000],
  chargeUsers: 1_000,
  rushRequests: 20_000,
  rushQuantity: 1_000,
  userOrders: 1_000,
  autocannon: (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string }).version,
};

export const wants = (id: string) => settings.only === null || settings.only.has(id);

export const runId = `${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${process.pid}`;
export const redisPrefix = `eventmart-bench:${runId}:`;
export const jwtSecret = randomBytes(32).toString('base64');
export const payerKey = randomBytes(32).toString('base64');
export const tokens = new Tokens(jwtSecret);

export const started: ServerProcess[] = [];
export const tempDirs: string[] = [];
export const log = (message: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `eventmart-bench-${name}-`));
  tempDirs.push(dir);
  return dir;
}

export async function start(options: Parameters<typeof startNodeServer>[0]): Promise<ServerProcess> {
  const server = await startNodeServer(options);
  started.push(server);
  return server;
}

export async function stop(server: ServerProcess): Promise<void> {
  await server.stop();
  if (started.includes(server)) started.splice(started.indexOf(server), 1);
}

// ---------------------------------------------------------------------------------------------
// The app server

/** A PostgreSQL the app keeps its log and read models in (--store postgres), in a schema of its own per app. */
export interface AppDatabase {
  readonly url: string;
  readonly schema: string;
  /** CPU the whole database server has used so far, in ms. */
  cpuMs(): number;
}

export function appEnv(dataDir: string, tag: string, dataPlatformUrl: string, database?: AppDatabase): Record<string, string> {
  return {
    ...(database ? { DATABASE_URL: database.url, DATABASE_SCHEMA: database.schema } : {}),
    NODE_ENV: 'production',
    DATA_DIR: dataDir,
    REDIS_URL: settings.redisUrl,
    REDIS_PREFIX: `${redisPrefix}${tag}:`,
    LOG_LEVEL: 'warn',
    JWT_SECRET: jwtSecret,
    PAYER_KEY: payerKey,
    DATA_PLATFORM_URL: dataPlatformUrl,
    // The load comes from one address standing in for many clients: per-IP abuse limits would
    // only measure the limiter. Per-user limits stay at their defaults.
    RATE_LIMIT_WRITE_PER_IP: '0',
    RATE_LIMIT_ISSUE_PER_IP: '0',
    ...settings.appEnv,
  };
}

/** The database server an app started by startApp uses, by the app's pid (none on the embedded store). */
const databases = new Map<number, AppDatabase>();

export async function startApp(name: string, dataDir: string, tag: string, dataPlatformUrl: string, profile: boolean, database?: AppDatabase): Promise<ServerProcess> {
  const app = await startAppProcesses(name, dataDir, tag, dataPlatformUrl, profile, database);
  if (database) databases.set(app.pid, database);
  return app;
}

async function startAppProcesses(name: string, dataDir: string, tag: string, dataPlatformUrl: string, profile: boolean, database?: AppDatabase): Promise<ServerProcess> {
  const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`, `--cpu-prof-name=${name}-${runId}.cpuprofile`] : [];
  const env = appEnv(dataDir, tag, dataPlatformUrl, database);
  const script = join(settings.appRoot, 'dist', 'src', 'main.js');
  if (!settings.projectorProcess) return start({ name, script, env, nodeArgs, readyPath: '/ready', timeoutMs: 120_000 });
  const app = await start({ name, script, env: { ...env, RUN_PROJECTIONS: 'false' }, nodeArgs, readyPath: '/ready', timeoutMs: 120_000 });
  const projector = await start({ name: `${name}-projector`, script: join(settings.appRoot, 'dist', 'projections', 'main.js'), env, readyPath: null });
  projectors.set(app.pid, projector);
  return {
    ...app,
    cpuMs: () => app.cpuMs() + projector.cpuMs(),
    stderr: () => `${app.stderr()}\n[projector]\n${projector.stderr()}`,
    async stop() {
      await stop(projector);
      await stop(app);
    },
  };
}

/** The projector process of each app started with --projector-process, by the app's pid. */
export const projectors = new Map<number, ServerProcess>();

/** Runs `load` with the app's projector process stopped, so that only the write path works; it resumes (and catches up) afterwards. */
export async function withoutProjections<T>(server: ServerProcess, load: () => Promise<T>): Promise<T> {
  const projector = projectors.get(server.pid)!;
  process.kill(projector.pid, 'SIGSTOP');
  try {
    return await load();
  } finally {
    process.kill(projector.pid, 'SIGCONT');
  }
}

/** Waits until every projection has reached the head of the log; returns the seconds it took. */
export async function caughtUp(server: ServerProcess, admin: string, timeoutMs = 180_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const res = await call<{ items: Array<{ name: string; caughtUp: boolean }> }>(server.url, 'GET', '/admin/projections', { token: admin });
    if (res.status !== 200) throw new Error(`GET /admin/projections answered ${res.status}: ${JSON.stringify(res.body)}`);
    if (res.body.items.every((p) => p.caughtUp)) return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > timeoutMs) throw new Error(`projections not caught up after ${timeoutMs} ms: ${JSON.stringify(res.body.items)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How busy the machine (all cores) and the app's main thread were during the last load measured by withCpu, in %. */
export let lastLoadBusy: { machinePercent: number; mainThreadPercent: number } | undefined;
/** What withCpu recorded since the last call (a scenario's result carries its measured load's). */
export function takeLoadBusy() {
  const busy = lastLoadBusy;
  lastLoadBusy = undefined;
  return busy;
}

/** The database server's CPU per request of the last load measured by withCpu (undefined on the embedded store). */
let lastDatabaseCpu: number | undefined;
export function takeDatabaseCpu() {
  const cpu = lastDatabaseCpu;
  lastDatabaseCpu = undefined;
  return cpu;
}

/**
 * Runs `load` and returns the server CPU it cost per answered request (including projections
 * catching up after it). It also records in `lastLoadBusy` how busy the machine and the app's
 * main thread were while the load ran: which of the two ran out first decides what would help.
 */
export async function withCpu(server: ServerProcess, admin: string | null, load: () => Promise<LoadStats>): Promise<{ stats: LoadStats; cpuUsPerRequest: number }> {
  const before = server.cpuMs();
  const database = databases.get(server.pid);
  const databaseBefore = database?.cpuMs() ?? 0;
  const machineBefore = machineTicks();
  const mainBefore = server.mainThreadCpuMs();
  const startedAt = Date.now();
  const stats = await load();
  const wallMs = Math.max(1, Date.now() - startedAt);
  const machineAfter = machineTicks();
  lastLoadBusy = {
    machinePercent: (100 * (machineAfter.busy - machineBefore.busy)) / Math.max(1, machineAfter.total - machineBefore.total),
    mainThreadPercent: (100 * (server.mainThreadCpuMs() - mainBefore)) / wallMs,
  };
  if (admin) await caughtUp(server, admin);
  const cpuUsPerRequest = ((server.cpuMs() - before) * 1000) / Math.max(1, stats.requests);
  lastDatabaseCpu = database ? ((database.cpuMs() - databaseBefore) * 1000) / Math.max(1, stats.requests) : undefined;
  return { stats, cpuUsPerRequest };
}

export const jsonHeaders = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });
export const check = (name: string, ok: boolean, detail: string): Check => ({ name, ok, detail });
export const amountFor = (rps: number, seconds: number, min: number, max: number) => Math.max(min, Math.min(max, Math.round(rps * seconds)));

// ---------------------------------------------------------------------------------------------
// Reference servers

/**
 * Waits until the app has finished the work a scenario left behind (projections, deliveries to
 * the data platform), so that it takes no CPU from the hello-world measured next. Returns how
 * long that took.
 */
export async function settled(server: ServerProcess): Promise<number> {
  const started = Date.now();
  for (;;) {
    const before = server.cpuMs();
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (server.cpuMs() - before < 10 || Date.now() - started > 30_000) return Date.now() - started;
  }
}

export async function measureReference(kind: 'http' | 'express', seconds = settings.durationSeconds, label = ''): Promise<LoadStats & { cpuUsPerRequest: number }> {
  const server = await start({ name: `hello-${kind}`, script: join(ROOT, 'dist', 'bench', 'reference', `hello-${kind}.js`), env: { NODE_ENV: 'production' } });
  try {
    const requests = [{ method: 'GET', path: '/' }];
    await cannon({ url: server.url, connections: settings.connections, duration: settings.warmupSeconds, requests });
    const { stats, cpuUsPerRequest } = await withCpu(server, null, () => cannon({ url: server.url, connections: settings.connections, duration: seconds, requests }));
    log(`hello-${kind}${label}: ${Math.round(stats.rps)} req/s, p50 ${stats.latencyMs.p50} ms, p99 ${stats.latencyMs.p99} ms, CPU ${Math.round(cpuUsPerRequest)} µs/req`);
    return { ...stats, cpuUsPerRequest };
  } finally {
    await stop(server);
  }
}

// What a scenario on the main app gets, and what it gives back (the runner adds the ratio).

export interface MainContext {
  server: ServerProcess;
  admin: string;
  reader: LogView;
  fixtures: Fixtures;
  ordersUser: { userId: string; token: string };
}

export type Measured = Omit<ScenarioResult, 'ratio' | 'met'>;

/** A scenario's result: what it says about itself, with the figures every scenario reports the same way. */
export function measured(
  ctx: MainContext,
  run: { readonly stats: LoadStats; readonly cpuUsPerRequest: number; readonly unexpected: number },
  about: Omit<Measured, 'stats' | 'unexpected' | 'serverCpuUsPerRequest' | 'serverPeakRssMiB'>,
): Measured {
  return { ...about, stats: run.stats, unexpected: run.unexpected, serverCpuUsPerRequest: run.cpuUsPerRequest, serverPeakRssMiB: ctx.server.memory().peakMiB };
}
