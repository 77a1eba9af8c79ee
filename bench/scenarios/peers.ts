/**
 * `--peers DIR`: our SQLite event store beside Emmett's (`@event-driven-io/emmett-sqlite`,
 * installed in DIR, not in this repository), in this process, each on a fresh file in the same
 * temporary directory: appends with an expected version (one event, five), concurrent appends
 * to one stream and to many, and reading a stream of 10,000 events.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';

export interface PeerRow {
  readonly measurement: string;
  readonly store: string;
  /** Operations per second (for the read: streams read per second). */
  readonly perSecond: number;
  readonly cpuUsPerOperation: number;
  /** Set when the store failed the measurement: what it threw. */
  readonly error?: string;
}

/** What the bench uses of either store: both are driven through the same few calls. */
interface Appender {
  readonly name: string;
  append(stream: string, events: number, expected: bigint | 'no_stream' | 'any'): Promise<bigint>;
  read(stream: string): Promise<number>;
  close(): Promise<void>;
}

const event = (i: number) => ({ type: 'PointsCharged', data: { userId: 'u', amount: 100, balanceAfter: 100 * (i + 1), occurredAt: new Date().toISOString() } });

function ours(file: string): Appender {
  const store = new SqliteEventStore(file);
  return {
    name: 'eventmart SqliteEventStore (synchronous FULL: fsync per group commit)',
    async append(stream, events, expected) {
      const result = await store.append([{ stream, expectedRevision: expected, events: Array.from({ length: events }, (_, i) => ({ id: randomUUID(), ...event(i) })) }]);
      return result.revisions.get(stream)!;
    },
    read: async (stream) => (await store.readStream(stream)).length,
    close: () => store.close(),
  };
}

interface EmmettStore {
  appendToStream(stream: string, events: unknown[], options?: { expectedStreamVersion?: bigint | string }): Promise<{ nextExpectedStreamVersion: bigint }>;
  readStream(stream: string): Promise<{ events: unknown[] }>;
  close?(): void;
}

function emmett(dir: string, file: string): Appender {
  const load = createRequire(join(dir, 'package.json'));
  const { getSQLiteEventStore } = load('@event-driven-io/emmett-sqlite') as { getSQLiteEventStore(options: object): EmmettStore };
  const version = (JSON.parse(readFileSync(join(dir, 'node_modules', '@event-driven-io', 'emmett-sqlite', 'package.json'), 'utf8')) as { version: string }).version;
  const store = getSQLiteEventStore({ fileName: file, schema: { autoMigration: 'CreateOrUpdate' } });
  return {
    name: `@event-driven-io/emmett-sqlite ${version} (node sqlite3, its defaults)`,
    async append(stream, events, expected) {
      // Emmett counts versions from 1 (the number of events), we count revisions from 0.
      const expectedStreamVersion = expected === 'any' ? undefined : expected === 'no_stream' ? 'STREAM_DOES_NOT_EXIST' : expected + 1n;
      const result = await store.appendToStream(stream, Array.from({ length: events }, (_, i) => event(i)), expectedStreamVersion === undefined ? {} : { expectedStreamVersion });
      return result.nextExpectedStreamVersion - 1n;
    },
    read: async (stream) => (await store.readStream(stream)).events.length,
    close: async () => store.close?.(),
  };
}

async function timed(operations: number, work: () => Promise<void>): Promise<{ perSecond: number; cpuUsPerOperation: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: operations / seconds, cpuUsPerOperation: (cpu.user + cpu.system) / operations };
}

async function measure(peer: Appender, appends: number): Promise<PeerRow[]> {
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
  const row = async (measurement: string, operations: number, work: () => Promise<void>) => {
    succeeded = 0;
    try {
      rows.push({ measurement, store: peer.name, ...(await timed(operations, work)) });
    } catch (error) {
      rows.push({ measurement, store: peer.name, perSecond: NaN, cpuUsPerOperation: NaN, error: `${String(error)} (after ${succeeded} appends that succeeded)` });
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
    for (let i = 0; i < appends; i += concurrency) await Promise.all(Array.from({ length: concurrency }, () => store.append(one, 1, 'any')));
  });
  const many = Array.from({ length: concurrency }, () => `wallet-${randomUUID()}`);
  const revisions = new Map<string, bigint | 'no_stream'>(many.map((s) => [s, 'no_stream']));
  await row(`${concurrency} concurrent appends of 1 event to ${concurrency} streams, each with its expected version`, appends, async () => {
    for (let i = 0; i < appends; i += concurrency) {
      await Promise.all(many.map(async (s) => revisions.set(s, await store.append(s, 1, revisions.get(s)!))));
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

export async function peers(dir: string, appends = 1_000): Promise<PeerRow[]> {
  const scratch = mkdtempSync(join(tmpdir(), 'eventmart-bench-peers-'));
  const rows: PeerRow[] = [];
  try {
    for (const make of [() => ours(join(scratch, 'ours.db')), () => emmett(dir, join(scratch, 'emmett.db'))]) {
      // A peer that fails may leave rejections nobody awaits (Emmett's rollback on a connection
      // it has closed): they are recorded beside its rows instead of ending the run.
      const stray: string[] = [];
      const onStray = (reason: unknown) => stray.push(String(reason));
      process.on('unhandledRejection', onStray);
      const store = make();
      try {
        const measured = await measure(store, appends);
        await new Promise((resolve) => setTimeout(resolve, 200));
        rows.push(...measured.map((r) => (r.error && stray.length > 0 ? { ...r, error: `${r.error}; then, unawaited: ${[...new Set(stray)].join('; ')}` } : r)));
      } finally {
        await store.close();
        process.off('unhandledRejection', onStray);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}

if (require.main === module) {
  void peers(process.argv[2] ?? '.').then((rows) => {
    for (const r of rows) process.stdout.write(`${r.measurement} | ${r.store} | ${r.error ?? `${Math.round(r.perSecond)}/s, ${Math.round(r.cpuUsPerOperation)} µs CPU`}\n`);
  });
}
