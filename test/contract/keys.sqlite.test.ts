import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDataKeyStore } from '../../src/shared/keys/sqlite';
import { dataKeyStoreContract } from './keys.contract';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'eventmart-keys-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SqliteDataKeyStore in memory', () => {
  dataKeyStoreContract(async () => [new SqliteDataKeyStore(':memory:')]);
});

describe('SqliteDataKeyStore, one file shared by two stores', () => {
  dataKeyStoreContract(async () => {
    const file = join(dir, `${randomUUID()}.db`);
    return [new SqliteDataKeyStore(file), new SqliteDataKeyStore(file, { synchronous: 'NORMAL' })];
  });
});

describe('SqliteDataKeyStore on disk', () => {
  it('leaves no copy of a destroyed key in the database file or its WAL', async () => {
    const file = join(dir, 'shred.db');
    const store = new SqliteDataKeyStore(file);
    const doomed = { userId: 'doomed', keyId: 'dk-doomed', masterKeyId: 'mk-1', wrapped: `DOOMED-${randomUUID()}` };
    const kept = { userId: 'kept', keyId: 'dk-kept', masterKeyId: 'mk-1', wrapped: `KEPT-${randomUUID()}` };
    try {
      await store.create(doomed);
      await store.create(kept);
      const onDisk = () =>
        readdirSync(dir)
          .filter((name) => name.startsWith('shred.db'))
          .map((name) => readFileSync(join(dir, name)).toString('latin1'))
          .join('\n');
      expect(onDisk()).toContain(doomed.wrapped);
      await store.destroy(doomed.userId);
      expect(onDisk()).not.toContain(doomed.wrapped);
      expect(onDisk()).toContain(kept.wrapped);
    } finally {
      await store.close();
    }
  });
});
