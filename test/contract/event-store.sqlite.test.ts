import fs = require('node:fs');
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { ConcurrencyConflict } from '../../src/shared/eventstore/port';
import { eventStoreContract } from './event-store.contract';

/** Records the SQL of every query run through `all` that `counts` picks (every statement shares one prototype). */
function recordQueries(counts: (sql: string) => boolean) {
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Database.Statement;
  probe.close();
  const ran: string[] = [];
  const all = proto.all;
  const queries = jest.spyOn(proto, 'all').mockImplementation(function (this: Database.Statement, ...params: unknown[]) {
    if (counts(this.source)) ran.push(this.source);
    return all.apply(this, params);
  });
  return { ran, queries };
}

describe('SQLite event store (in memory)', () => {
  eventStoreContract(async () => new SqliteEventStore(':memory:'));
});

describe('SQLite event store (file)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-es-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  eventStoreContract(async () => new SqliteEventStore(join(dir, `events-${randomUUID()}.db`)));

  it('two connections on one file see one log and one revision per stream', async () => {
    const file = join(dir, 'shared.db');
    const a = new SqliteEventStore(file);
    const b = new SqliteEventStore(file);
    try {
      await a.append([{ stream: 's', expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'A', data: {} }] }]);
      await expect(
        b.append([{ stream: 's', expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'B', data: {} }] }]),
      ).rejects.toBeInstanceOf(ConcurrencyConflict);
      await b.append([{ stream: 's', expectedRevision: 0n, events: [{ id: randomUUID(), type: 'B', data: {} }] }]);
      expect((await a.readStream('s')).map((e) => e.type)).toEqual(['A', 'B']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('answers a follower at the head without a query, yet sees what another connection appends', async () => {
    const file = join(dir, 'head.db');
    const a = new SqliteEventStore(file);
    const b = new SqliteEventStore(file);
    try {
      await a.append([{ stream: 'x', expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'A', data: {} }] }]);
      const [own] = await a.readAll(null, 10);
      expect(await a.readAll(own.position, 10)).toEqual([]);
      // Only reads of the log count: b's append reads its own slots for the duplicate rule.
      const { ran, queries } = recordQueries((sql) => sql.includes('position >'));
      expect(await a.readAll(own.position, 10)).toEqual([]);
      expect(ran).toEqual([]);

      await b.append([{ stream: 'y', expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'B', data: {} }] }]);
      expect((await a.readAll(own.position, 10)).map((e) => e.type)).toEqual(['B']);
      expect(ran).toHaveLength(1);
      queries.mockRestore();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('answers a read past a stream\'s known head without a query, yet sees what another connection appends to it', async () => {
    const file = join(dir, 'stream-head.db');
    const a = new SqliteEventStore(file);
    const b = new SqliteEventStore(file);
    const event = (type: string) => ({ id: randomUUID(), type, data: {} });
    try {
      expect(await a.readStream('s')).toEqual([]);
      await a.append([{ stream: 's', expectedRevision: 'no_stream', events: [event('A')] }]);
      const { ran, queries } = recordQueries((sql) => sql.startsWith('SELECT * FROM events WHERE stream = ? AND revision >= ?'));
      // Its own append moved the head it knows: nothing past revision 0, and no query to say so.
      expect(await a.readStream('s', 1n)).toEqual([]);
      expect(ran).toEqual([]);
      // An earlier revision is not known from memory.
      expect((await a.readStream('s', 0n)).map((e) => e.type)).toEqual(['A']);
      expect(ran).toHaveLength(1);

      await b.append([{ stream: 's', expectedRevision: 0n, events: [event('B')] }]);
      expect((await a.readStream('s', 1n)).map((e) => e.type)).toEqual(['B']);
      expect(ran).toHaveLength(2);
      queries.mockRestore();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps every append of a group commit apart: one conflict fails only itself', async () => {
    const store = new SqliteEventStore(join(dir, 'group.db'));
    try {
      await store.append([{ stream: 'g', expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'A', data: {} }] }]);
      const results = await Promise.allSettled([
        store.append([{ stream: 'h', expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'H', data: {} }] }]),
        store.append([{ stream: 'g', expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'X', data: {} }] }]),
        store.append([{ stream: 'i', expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'I', data: {} }] }]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await store.readStream('h')).toHaveLength(1);
      expect(await store.readStream('g')).toHaveLength(1);
      expect(await store.readStream('i')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('SQLite event store: durability off the event loop', () => {
  let dir: string;
  let fsyncSpy: jest.SpyInstance;
  /** fsync calls held back by the test, released in whatever order it chooses. */
  let held: Array<(error: NodeJS.ErrnoException | null) => void>;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-es-sync-'));
    held = [];
    fsyncSpy = jest.spyOn(fs, 'fsync').mockImplementation(((_fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
      held.push(callback);
    }) as typeof fs.fsync);
  });
  afterEach(() => {
    fsyncSpy.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  });

  const write = (stream: string) => [{ stream, expectedRevision: 'no_stream' as const, events: [{ id: randomUUID(), type: 'E', data: {} }] }];
  const settled = async (promise: Promise<unknown>) => {
    let done = false;
    void promise.then(
      () => (done = true),
      () => (done = true),
    );
    await new Promise((resolve) => setImmediate(resolve));
    return done;
  };
  const heldCalls = async (n: number) => {
    for (let turns = 0; held.length < n && turns < 100; turns += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(held).toHaveLength(n);
  };

  it('answers an append, and shows it to followers of the log, only once the WAL is fsynced', async () => {
    const store = new SqliteEventStore(join(dir, 'events.db'));
    const appended = store.append(write('a'));
    await heldCalls(1);
    expect(await settled(appended)).toBe(false);
    expect(await store.readAll(null, 10)).toEqual([]);
    held[0](null);
    await expect(appended).resolves.toMatchObject({ duplicate: false });
    expect((await store.readAll(null, 10)).map((e) => e.stream)).toEqual(['a']);
    await store.close();
  });

  it('hands batches out in commit order even when their fsyncs finish the other way round', async () => {
    const store = new SqliteEventStore(join(dir, 'events.db'));
    const order: string[] = [];
    const first = store.append(write('first')).then(() => order.push('first'));
    await heldCalls(1);
    const second = store.append(write('second')).then(() => order.push('second'));
    await heldCalls(2);
    held[1](null);
    expect(await settled(second)).toBe(false);
    held[0](null);
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    await store.close();
  });

  it('fails the appends of a batch whose fsync fails', async () => {
    const store = new SqliteEventStore(join(dir, 'events.db'));
    const appended = store.append(write('a'));
    await heldCalls(1);
    held[0](Object.assign(new Error('EIO'), { code: 'EIO' }));
    await expect(appended).rejects.toThrow('EIO');
    await store.close();
  });

  it('does not fsync when told that surviving a process crash is enough', async () => {
    const store = new SqliteEventStore(join(dir, 'events.db'), { synchronous: 'NORMAL' });
    await store.append(write('a'));
    expect(held).toHaveLength(0);
    await store.close();
  });
});
