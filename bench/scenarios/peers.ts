/**
 * Our event store beside Emmett's, driven from this process through the same calls: appends with
 * an expected version (one event, five), concurrent appends to one stream and to many, and
 * reading a stream of 10,000 events. Emmett is installed in directories of its own, not in this
 * repository (its SQLite and PostgreSQL packages need different versions of its core):
 *
 *   `--peers DIR`     `@event-driven-io/emmett-sqlite` beside our SqliteEventStore, each on a
 *                     fresh file in the same temporary directory;
 *   `--pg-peers DIR`  `@event-driven-io/emmett-postgresql` beside our PostgresEventStore on one
 *                     PostgreSQL cluster of the bench's own, ours in a schema, Emmett's in a
 *                     database of its own (its tables are not schema-qualified); the server's CPU
 *                     is counted beside this process's.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import type { EventStore } from '../../src/shared/eventstore/port';
import { PostgresEventStore } from '../../src/shared/eventstore/postgres';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { Postgres } from '../../src/shared/postgres';
import type { BenchPostgres } from '../lib/postgres';
import type { PeerRow } from '../lib/report';

/** What the bench uses of either store: both are driven through the same few calls. */
interface Appender {
  readonly name: string;
  append(stream: string, events: number, expected: bigint | 'no_stream' | 'any'): Promise<bigint>;
  read(stream: string): Promise<number>;
  close(): Promise<void>;
}

/** Where a pair runs: its database's kind, and the server's CPU so far in ms when it is a server of the bench's own. */
interface Ground {
  readonly database: PeerRow['database'];
  readonly serverCpuMs?: () => number;
  /** Called before each store is opened, so that neither pays for the other's leftovers (its vacuum, its dirty pages). */
  readonly settle?: () => Promise<void>;
}

const event = (i: number) => ({ type: 'PointsCharged', data: { userId: 'u', amount: 100, balanceAfter: 100 * (i + 1), occurredAt: new Date().toISOString() } });

/** Either of our stores, through the port (the event ids are the caller's). */
function ourAppender(name: string, store: EventStore, close: () => Promise<void>): Appender {
  return {
    name,
    async append(stream, events, expected) {
      const result = await store.append([{ stream, expectedRevision: expected, events: Array.from({ length: events }, (_, i) => ({ id: randomUUID(), ...event(i) })) }]);
      return result.revisions.get(stream)!;
    },
    read: async (stream) => (await store.readStream(stream)).length,
    close,
  };
}

function oursOnSqlite(file: string): Appender {
  const store = new SqliteEventStore(file);
  return ourAppender('eventmart SqliteEventStore (synchronous FULL: fsync per group commit)', store, () => store.close());
}

async function oursOnPostgres(url: string, schema: string): Promise<Appender> {
  // As the app opens it (src/composition/compose.ts), with the configuration's default pool.
  const pg = new Postgres({ url, schema });
  const store = await PostgresEventStore.open(pg);
  return ourAppender('eventmart PostgresEventStore (group commit under an advisory lock)', store, async () => {
    await store.close();
    await pg.close();
  });
}

interface EmmettStore {
  appendToStream(stream: string, events: unknown[], options?: { expectedStreamVersion?: bigint | string }): Promise<{ nextExpectedStreamVersion: bigint }>;
  readStream(stream: string): Promise<{ events: unknown[] }>;
  close?(): void | Promise<void>;
}

/** An Emmett package from `dir`'s node_modules, and its version for the row's label. */
function emmettPackage<T>(dir: string, name: string): { module: T; version: string } {
  const load = createRequire(join(dir, 'package.json'));
  const version = (JSON.parse(readFileSync(join(dir, 'node_modules', '@event-driven-io', name, 'package.json'), 'utf8')) as { version: string }).version;
  return { module: load(`@event-driven-io/${name}`) as T, version };
}

/**
 * Emmett counts versions from 1 (the number of events), we count revisions from 0. `noStream`
 * is how each of its stores spells "the stream must not exist yet".
 */
function emmettAppender(name: string, store: EmmettStore, noStream: bigint | string): Appender {
  return {
    name,
    async append(stream, events, expected) {
      const expectedStreamVersion = expected === 'any' ? undefined : expected === 'no_stream' ? noStream : expected + 1n;
      const result = await store.appendToStream(stream, Array.from({ length: events }, (_, i) => event(i)), expectedStreamVersion === undefined ? {} : { expectedStreamVersion });
      return result.nextExpectedStreamVersion - 1n;
    },
    read: async (stream) => (await store.readStream(stream)).events.length,
    close: async () => store.close?.(),
  };
}

function emmettOnSqlite(dir: string, file: string): Appender {
  const { module, version } = emmettPackage<{ getSQLiteEventStore(options: object): EmmettStore }>(dir, 'emmett-sqlite');
  const store = module.getSQLiteEventStore({ fileName: file, schema: { autoMigration: 'CreateOrUpdate' } });
  return emmettAppender(`@event-driven-io/emmett-sqlite ${version} (node sqlite3, its defaults)`, store, 'STREAM_DOES_NOT_EXIST');
}

async function emmettOnPostgres(dir: string, url: string): Promise<Appender> {
  type Store = EmmettStore & { schema: { migrate(): Promise<unknown> } };
  const { module, version } = emmettPackage<{ getPostgreSQLEventStore(connectionString: string): Store }>(dir, 'emmett-postgresql');
  const store = module.getPostgreSQLEventStore(url);
  // Its schema is created on first use otherwise, inside the first measurement.
  await store.schema.migrate();
  // 0.42 does not check 'STREAM_DOES_NOT_EXIST' on PostgreSQL (it appends as if none were given);
  // version 0 is its own "no stream", checked by the insert of the stream's row.
  return emmettAppender(`@event-driven-io/emmett-postgresql ${version} (its defaults: a transaction per append)`, store, 0n);
}

async function timed(operations: number, ground: Ground, work: () => Promise<void>): Promise<Pick<PeerRow, 'perSecond' | 'cpuUsPerOperation' | 'databaseCpuUsPerOperation'>> {
  const server0 = ground.serverCpuMs?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const server = server0 === undefined ? {} : { databaseCpuUsPerOperation: ((ground.serverCpuMs!() - server0) * 1000) / operations };
  return { perSecond: operations / seconds, cpuUsPerOperation: (cpu.user + cpu.system) / operations, ...server };
}

async function measure(peer: Appender, ground: Ground, appends: number): Promise<PeerRow[]> {
  const rows: PeerRow[] = [];
  let succeeded = 0;
  const store: Pick<Appender, 'append' | 'read'> = {
    append: async (...args) => {
      const revision = await peer.append(...args);
      succeeded += 1;
      return revision;
    },
    read: (stream) => peer.read(stream),
  };
  /** Every append of a round settles before the first failure is thrown, so none runs on into the next measurement. */
  const all = async <T>(round: Array<Promise<T>>): Promise<T[]> => {
    const settled = await Promise.allSettled(round);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  };
  const row = async (measurement: string, operations: number, work: () => Promise<void>) => {
    succeeded = 0;
    const base = { measurement, store: peer.name, database: ground.database };
    try {
      rows.push({ ...base, ...(await timed(operations, ground, work)) });
    } catch (error) {
      rows.push({ ...base, perSecond: NaN, cpuUsPerOperation: NaN, error: `${String(error)} (after ${succeeded} appends that succeeded)` });
    }
  };
  for (const size of [1, 5]) {
    const stream = `wallet-${randomUUID()}`;
    await row(`append ${size} event${size > 1 ? 's' : ''} with the expected version, one after another`, appends, async () => {
      let revision: bigint | 'no_stream' = 'no_stream';
      for (let i = 0; i < appends; i += 1) revision = await store.append(stream, size, revision);
    });
  }
  const concurrency = 50;
  const one = `wallet-${randomUUID()}`;
  await row(`${concurrency} concurrent appends of 1 event to one stream (no expected version)`, appends, async () => {
    for (let i = 0; i < appends; i += concurrency) await all(Array.from({ length: concurrency }, () => store.append(one, 1, 'any')));
  });
  const many = Array.from({ length: concurrency }, () => `wallet-${randomUUID()}`);
  const revisions = new Map<string, bigint | 'no_stream'>(many.map((s) => [s, 'no_stream']));
  await row(`${concurrency} concurrent appends of 1 event to ${concurrency} streams, each with its expected version`, appends, async () => {
    for (let i = 0; i < appends; i += concurrency) {
      await all(many.map(async (s) => revisions.set(s, await store.append(s, 1, revisions.get(s)!))));
    }
  });
  const long = `wallet-${randomUUID()}`;
  let revision: bigint | 'no_stream' = 'no_stream';
  for (let i = 0; i < 10_000 / 100; i += 1) revision = await store.append(long, 100, revision);
  const reads = 20;
  await row('read a stream of 10,000 events', reads, async () => {
    for (let i = 0; i < reads; i += 1) if ((await store.read(long)) !== 10_000) throw new Error(`${peer.name} read the wrong number of events`);
  });
  return rows;
}

/** Each store in turn on the same ground, ours first. */
async function pair(ground: Ground, makers: ReadonlyArray<() => Promise<Appender>>, appends: number): Promise<PeerRow[]> {
  const rows: PeerRow[] = [];
  for (const make of makers) {
    // A peer that fails may leave rejections nobody awaits (Emmett's rollback on a connection
    // it has closed): they are recorded beside its rows instead of ending the run.
    const stray: string[] = [];
    const onStray = (reason: unknown) => stray.push(String(reason));
    process.on('unhandledRejection', onStray);
    try {
      await ground.settle?.();
      const store = await make();
      try {
        const measured = await measure(store, ground, appends);
        await new Promise((resolve) => setTimeout(resolve, 200));
        rows.push(...measured.map((r) => (r.error && stray.length > 0 ? { ...r, error: `${r.error}; then, unawaited: ${[...new Set(stray)].join('; ')}` } : r)));
      } finally {
        await store.close();
      }
    } finally {
      process.off('unhandledRejection', onStray);
    }
  }
  return rows;
}

/** `--peers DIR`: the SQLite pair. */
export async function sqlitePeers(dir: string, appends = 1_000): Promise<PeerRow[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'eventmart-bench-peers-'));
  try {
    return await pair({ database: 'sqlite' }, [async () => oursOnSqlite(join(scratch, 'ours.db')), async () => emmettOnSqlite(dir, join(scratch, 'emmett.db'))], appends);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `--pg-peers DIR`: the PostgreSQL pair, on `server` (a fresh cluster: the database and schema names are fixed). */
export async function postgresPeers(dir: string, server: BenchPostgres, appends = 1_000): Promise<PeerRow[]> {
  const emmettUrl = new URL(server.url);
  emmettUrl.pathname = '/peers_emmett';
  const admin = new Client({ connectionString: server.url });
  const emmettAdmin = new Client({ connectionString: emmettUrl.toString() });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE peers_emmett');
    await emmettAdmin.connect();
    // Autovacuum would otherwise clean up after the first store while the second is measured. Before
    // a store's schema exists: its tables start never analyzed, as they do on a fresh cluster.
    const settle = async () => {
      for (const client of [admin, emmettAdmin]) await client.query('VACUUM (ANALYZE)');
      await admin.query('CHECKPOINT');
    };
    const ground: Ground = { database: 'postgres', serverCpuMs: () => server.cpuMs(), settle };
    return await pair(ground, [() => oursOnPostgres(server.url, 'peers_ours'), () => emmettOnPostgres(dir, emmettUrl.toString())], appends);
  } finally {
    await emmettAdmin.end().catch(() => undefined);
    await admin.end();
  }
}
