import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSnapshotStore } from '../../src/shared/snapshots/sqlite';
import { snapshotStoreContract } from './snapshot-store.contract';

describe('SqliteSnapshotStore in memory', () => {
  snapshotStoreContract(async () => new SqliteSnapshotStore(':memory:'));
});

describe('SqliteSnapshotStore in a file, reopened for every read', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-snapshots-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  snapshotStoreContract(async () => {
    const file = join(dir, 'snapshots.db');
    const writer = new SqliteSnapshotStore(file);
    // Reads go through a second connection, as after a restart.
    return {
      adapterName: writer.adapterName,
      write: (snapshot) => writer.write(snapshot),
      delete: (stream) => writer.delete(stream),
      read: async (stream) => {
        const reader = new SqliteSnapshotStore(file);
        try {
          return await reader.read(stream);
        } finally {
          await reader.close();
        }
      },
      close: () => writer.close(),
    };
  });
});
