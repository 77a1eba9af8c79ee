import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIdempotencyStore } from '../../src/shared/idempotency/sqlite';
import { openSqlite } from '../../src/shared/sqlite';
import { idempotencyContract } from './idempotency.contract';

describe('SqliteIdempotencyStore in memory', () => {
  idempotencyContract(async () => [new SqliteIdempotencyStore(':memory:')]);
});

describe('SqliteIdempotencyStore, one file shared by two stores', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-idempotency-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  idempotencyContract(async () => {
    const file = join(dir, `${randomUUID()}.db`);
    return [new SqliteIdempotencyStore(file), new SqliteIdempotencyStore(file, { synchronous: 'NORMAL' })];
  }, 2);
});

describe('SqliteIdempotencyStore purge', () => {
  it('deletes expired records as claims go by', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventmart-idempotency-'));
    const file = join(dir, 'purge.db');
    const store = new SqliteIdempotencyStore(file);
    const db = openSqlite(file);
    try {
      // Each of these claims expired at once; every 100th claim purges what has expired.
      for (let i = 0; i < 150; i++) await store.claim('u', `k${i}`, 'f', -1);
      const { n } = db.prepare('SELECT COUNT(*) AS n FROM idempotency_keys').get() as { n: number };
      expect(n).toBeLessThan(150);
    } finally {
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
