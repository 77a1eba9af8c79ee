import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { ConcurrencyConflict } from '../../src/shared/eventstore/port';
import { eventStoreContract } from './event-store.contract';

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
