import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointMoved, FindQuery } from '../../src/shared/documents/port';
import { SqliteDocumentStore } from '../../src/shared/documents/sqlite';
import sqliteModule = require('../../src/shared/sqlite');
import { eventually } from '../support/eventually';
import { documentStoreContract } from './document-store.contract';

const dir = mkdtempSync(join(tmpdir(), 'eventmart-documents-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite document store (:memory:)', () => {
  documentStoreContract(async () => new SqliteDocumentStore(':memory:'));
});

describe('SQLite document store (file, reused by every test)', () => {
  documentStoreContract(async () => new SqliteDocumentStore(join(dir, 'contract.db'), { synchronous: 'NORMAL' }));
});

describe('SQLite document store on a file', () => {
  it('seeks the expression indexes (no scan, no sort) for the usual shapes, on first and later pages', async () => {
    const file = join(dir, 'plan.db');
    const store = new SqliteDocumentStore(file);
    await store.ensureCollection({ name: 'orders', indexes: [['userId', 'occurredAt'], ['occurredAt'], ['status']] });
    await store.ensureCollection({ name: 'others', indexes: [['userId', 'occurredAt']] });
    const doc = (collection: string, i: number) => ({
      kind: 'upsert' as const,
      collection,
      doc: { id: `o${i}`, userId: `u${i % 20}`, occurredAt: i % 97, status: i % 2 ? 'PAID' : 'PENDING' },
    });
    await store.write(Array.from({ length: 2000 }, (_, i) => doc(i % 3 ? 'orders' : 'others', i)));

    // Record what the store actually runs, then ask SQLite how it runs it.
    const probe = new Database(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Database.Statement;
    probe.close();
    const all = proto.all;
    const ran: { sql: string; params: unknown[] }[] = [];
    const spy = jest.spyOn(proto, 'all').mockImplementation(function (this: Database.Statement, ...params: unknown[]) {
      ran.push({ sql: this.source, params });
      return all.apply(this, params);
    });
    const explain = new Database(file, { readonly: true });
    const plan = async (query: FindQuery) => {
      ran.length = 0;
      const page = await store.find('orders', query);
      const selects = ran.filter((r) => r.sql.startsWith('SELECT body FROM documents'));
      expect(selects.length).toBeGreaterThan(0);
      const details = selects.flatMap((r) =>
        (explain.prepare(`EXPLAIN QUERY PLAN ${r.sql}`).all(...r.params) as { detail: string }[]).map((p) => p.detail),
      );
      return { page, details: details.join('\n') };
    };
    try {
      const shapes: FindQuery[] = [
        { where: { userId: 'u1' }, sort: { field: 'occurredAt', direction: 'desc' }, limit: 10 },
        { where: { userId: 'u1' }, sort: { field: 'occurredAt', direction: 'asc' }, limit: 10 },
        { sort: { field: 'occurredAt', direction: 'desc' }, limit: 10 },
        { where: { occurredAt: { gte: 10, lt: 50 } }, sort: { field: 'occurredAt', direction: 'asc' }, limit: 10 },
      ];
      for (const shape of shapes) {
        const first = await plan(shape);
        const second = await plan({ ...shape, cursor: first.page.nextCursor });
        for (const { details } of [first, second]) {
          expect(details).toMatch(/USING INDEX documents:orders\((userId,)?occurredAt\)/);
          expect(details).not.toMatch(/TEMP B-TREE|SCAN documents$|sqlite_autoindex/m);
        }
        // A later page starts at the cursor (an index range), not at the top of the index.
        expect(second.details).toMatch(/<expr>[<>]\?/);
        if (shape.where?.userId) expect(first.details).toMatch(/SEARCH documents USING INDEX \S+ \(<expr>=\?\)/);
      }
    } finally {
      spy.mockRestore();
      explain.close();
      await store.close();
    }
  });

  it('serves two connections on one file: each sees the other, and learns indexes it did not declare', async () => {
    const file = join(dir, 'shared.db');
    const projector = new SqliteDocumentStore(file);
    const api = new SqliteDocumentStore(file);
    try {
      await projector.ensureCollection({ name: 'orders', indexes: [['userId', 'occurredAt']] });
      await projector.write(
        [{ kind: 'upsert', collection: 'orders', doc: { id: 'o1', userId: 'u1', occurredAt: 1 } }],
        { projection: 'orders', position: '10' },
      );
      expect(await api.getCheckpoint('orders')).toBe('10');
      expect(await api.get('orders', 'o1')).toEqual({ id: 'o1', userId: 'u1', occurredAt: 1 });
      const newestFirst: FindQuery = {
        where: { userId: 'u1' },
        sort: { field: 'occurredAt', direction: 'desc' },
        limit: 5,
      };
      const page = await api.find('orders', newestFirst);
      expect(page.items.map((d) => d.id)).toEqual(['o1']);
      await expect(api.find('orders', { where: { status: 'x' }, limit: 5 })).rejects.toThrow(/index/);

      await api.write([{ kind: 'upsert', collection: 'orders', doc: { id: 'o2', userId: 'u1', occurredAt: 2 } }], {
        projection: 'orders',
        position: '11',
      });
      const both = await projector.find('orders', newestFirst);
      expect(both.items.map((d) => d.id)).toEqual(['o2', 'o1']);
      expect(await projector.getCheckpoint('orders')).toBe('11');

      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 ? api : projector).write([
            { kind: 'upsert', collection: 'orders', doc: { id: `n${i}`, userId: 'u2', occurredAt: i } },
          ]),
        ),
      );
      expect((await api.find('orders', { where: { userId: 'u2' }, limit: 100 })).items).toHaveLength(50);
    } finally {
      await api.close();
      await projector.close();
    }
  });
});

describe('SQLite document store: writes of one turn commit together', () => {
  it('commits them in one transaction, and a moved checkpoint or a bad document undoes only its own write', async () => {
    const file = join(dir, 'group.db');
    const store = new SqliteDocumentStore(file);
    await store.write([], { projection: 'b', position: '5' });
    const transactions = jest.spyOn(sqliteModule, 'immediate');
    const upsert = (id: string, extra: Record<string, unknown> = {}) => ({ kind: 'upsert' as const, collection: 'c', doc: { id, ...extra } });
    const results = await Promise.allSettled([
      store.write([upsert('a')], { projection: 'a', position: '1', previous: null }),
      store.write([upsert('b')], { projection: 'b', position: '6', previous: '4' }),
      store.write([upsert('big', { n: 1n })]),
      store.write([upsert('d')], { projection: 'd', position: '2', previous: null }),
    ]);
    expect(transactions).toHaveBeenCalledTimes(1);
    transactions.mockRestore();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(CheckpointMoved);
    expect(await store.get('c', 'a')).toEqual({ id: 'a' });
    expect(await store.get('c', 'b')).toBeNull();
    expect(await store.get('c', 'big')).toBeNull();
    expect(await store.get('c', 'd')).toEqual({ id: 'd' });
    expect([await store.getCheckpoint('a'), await store.getCheckpoint('b'), await store.getCheckpoint('d')]).toEqual(['1', '5', '2']);
    await store.close();
  });
});

describe('SQLite stores checkpoint their WAL in the background', () => {
  it('copies committed pages into the database file without a commit crossing the 1000-page mark', async () => {
    const file = join(dir, 'background.db');
    const store = new SqliteDocumentStore(file);
    const sizeAtStart = statSync(file).size;
    // About 2 MB: half of what makes SQLite's own COMMIT checkpoint.
    const body = 'x'.repeat(1000);
    await store.write(Array.from({ length: 2000 }, (_, i) => ({ kind: 'upsert' as const, collection: 'c', doc: { id: `d${i}`, body } })));
    await eventually(() => statSync(file).size, (size) => size > sizeAtStart + 1_000_000);
    await store.close();
  });
});
