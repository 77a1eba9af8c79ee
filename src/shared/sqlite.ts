import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

export interface SqliteOptions {
  /** FULL survives power loss; NORMAL only process crashes (still atomic). */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How long a writer waits for another process's write lock before SQLITE_BUSY. */
  readonly busyTimeoutMs?: number;
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
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
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
