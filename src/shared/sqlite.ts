import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';

export type SqliteDatabase = Database.Database;

export interface SqliteOptions {
  /** FULL survives power loss; NORMAL only process crashes (still atomic). */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. */
  readonly busyTimeoutMs?: number;
  /** Only for a new file (it cannot change once the file is in WAL mode). Large blobs read faster over fewer, larger pages. */
  readonly pageSize?: number;
}

/**
 * Opens a database file that several processes may share: WAL lets readers run beside the one
 * writer, and the busy timeout makes a second writer wait instead of failing at once.
 * `:memory:` gives a private throw-away database (tests).
 */
export function openSqlite(file: string, options: SqliteOptions = {}): SqliteDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
  if (options.pageSize !== undefined) db.pragma(`page_size = ${options.pageSize}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  // Every group commit runs each write in a savepoint, whose undo record SQLite spills to an
  // unlinked file in /var/tmp past 64 KiB: a write syscall per page for data nobody reads after
  // the RELEASE. Kept in memory, those writes disappear (docs/BENCHMARKS.md, "Fourth round").
  db.pragma('temp_store = MEMORY');
  return db;
}

/**
 * Runs `fn` inside BEGIN IMMEDIATE: the write lock is taken up front, so two processes cannot
 * both read a stream's revision and then both write (a deferred transaction would upgrade late
 * and fail with SQLITE_BUSY instead of waiting).
 */
export function immediate<T>(db: SqliteDatabase, fn: () => T): T {
  return db.transaction(fn).immediate();
}

/** How often the background connection copies the WAL into the database file. */
const CHECKPOINT_EVERY_MS = 200;
/**
 * The main connection still checkpoints by itself past this many WAL pages (about 80 MB), in
 * case the background one falls behind or is gone: the WAL must not grow without bound.
 */
const FALLBACK_AUTOCHECKPOINT_PAGES = 20_000;

// Plain JavaScript run by `eval`, so that the worker loads from the compiled app and from
// ts-jest alike. PASSIVE never waits for readers or writers; a checkpoint cut short by
// terminate() is safe (SQLite redoes it from the WAL).
const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 0');
setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.everyMs);
`;

export interface BackgroundCheckpoints {
  stop(): Promise<void>;
}

/**
 * Moves WAL checkpoints off the event loop. SQLite runs one inside the COMMIT that crosses
 * 1000 WAL pages: copying them into the database file and two fsyncs, during which the only
 * JavaScript thread serves nothing (docs/BENCHMARKS.md, "Second round"). A worker thread with
 * its own connection checkpoints every CHECKPOINT_EVERY_MS instead; PASSIVE checkpoints run
 * beside readers and the writer.
 */
export function checkpointInBackground(db: SqliteDatabase, file: string): BackgroundCheckpoints {
  if (file === ':memory:') return { stop: async () => undefined };
  db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { driver: require.resolve('better-sqlite3'), file, everyMs: CHECKPOINT_EVERY_MS },
  });
  // A worker that fails leaves the fallback above in charge; it must not take the process down.
  worker.on('error', () => db.open && db.pragma('wal_autocheckpoint = 1000'));
  worker.unref();
  return {
    stop: async () => {
      await worker.terminate();
    },
  };
}
