import { openSqlite, SqliteDatabase } from '../sqlite';
import type { Snapshot, SnapshotStore } from './port';

interface Row {
  stream: string;
  fingerprint: string;
  revision: number | bigint;
  event_id: string;
  state: Buffer;
}

/**
 * `snapshots.db` in DATA_DIR, one row per stream. It is a cache, so it is written with
 * synchronous=NORMAL: a crash may lose the newest rows (the log folds them again), never corrupt
 * the file. Its own file, so it can be deleted without touching the log. A rowid table, as
 * SQLite advises for rows this large.
 */
export class SqliteSnapshotStore implements SnapshotStore {
  readonly adapterName = 'sqlite';
  private readonly db: SqliteDatabase;
  private readonly selectOne;
  private readonly upsert;
  private readonly deleteOne;

  constructor(file: string) {
    // A long stream's state is megabytes, read faster in a few large pages than in many small
    // ones (docs/BENCHMARKS.md, snapshots).
    this.db = openSqlite(file, { synchronous: 'NORMAL', pageSize: 65_536 });
    this.db.exec(`CREATE TABLE IF NOT EXISTS snapshots (
      stream TEXT PRIMARY KEY,
      fingerprint TEXT NOT NULL,
      revision INTEGER NOT NULL,
      event_id TEXT NOT NULL,
      state BLOB NOT NULL
    )`);
    this.selectOne = this.db.prepare<[string], Row>('SELECT * FROM snapshots WHERE stream = ?').safeIntegers(true);
    this.upsert = this.db.prepare<[string, string, bigint, string, Buffer]>(
      `INSERT INTO snapshots (stream, fingerprint, revision, event_id, state) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (stream) DO UPDATE SET fingerprint = excluded.fingerprint, revision = excluded.revision,
         event_id = excluded.event_id, state = excluded.state
       WHERE excluded.revision > snapshots.revision OR excluded.fingerprint <> snapshots.fingerprint`,
    );
    this.deleteOne = this.db.prepare<[string]>('DELETE FROM snapshots WHERE stream = ?');
  }

  async read(stream: string): Promise<Snapshot | null> {
    const row = this.selectOne.get(stream);
    if (!row) return null;
    return { stream: row.stream, fingerprint: row.fingerprint, revision: BigInt(row.revision), eventId: row.event_id, state: row.state };
  }

  async write(snapshot: Snapshot): Promise<void> {
    this.upsert.run(snapshot.stream, snapshot.fingerprint, snapshot.revision, snapshot.eventId, snapshot.state);
  }

  async delete(stream: string): Promise<void> {
    this.deleteOne.run(stream);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
