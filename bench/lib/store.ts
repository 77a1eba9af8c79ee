/**
 * The bench's side of the two stores the app runs on: seeding the log, reading it back for the
 * checks. SQLite's files are written and read directly; PostgreSQL through the ports (and one
 * bulk INSERT for the filler) over a pool in the app's schema, created by the same migrations
 * the app runs at start-up.
 */
import { join } from 'node:path';
import { PostgresDocumentStore } from '../../src/shared/documents/postgres';
import { SqliteDocumentStore } from '../../src/shared/documents/sqlite';
import { PostgresEventStore } from '../../src/shared/eventstore/postgres';
import { Postgres } from '../../src/shared/postgres';
import { LogReader, LogView, PortLogReader } from './api';
import type { AppDatabase } from './harness';
import { fillPostgres, Fixtures, LogSeeder, PortSeeder, skipFiller } from './seed';

/** A pool on the bench's PostgreSQL, in the app's schema; seeding a large log needs long statements. */
const benchPool = (database: AppDatabase) => new Postgres({ url: database.url, schema: database.schema, poolSize: 8, statementTimeoutMs: 120_000 });

/** The shop's events, in the store the app will find them in (see LogSeeder, PortSeeder). */
export async function seedLog(dataDir: string, database: AppDatabase | undefined, fill: (seeder: LogSeeder | PortSeeder) => Fixtures): Promise<Fixtures> {
  if (!database) {
    const seeder = new LogSeeder(join(dataDir, 'events.db'));
    const fixtures = fill(seeder);
    seeder.close();
    return fixtures;
  }
  const seeder = new PortSeeder();
  const fixtures = fill(seeder);
  const pool = benchPool(database);
  const store = await PostgresEventStore.open(pool);
  try {
    await seeder.flush(store);
  } finally {
    await store.close();
    await pool.close();
  }
  return fixtures;
}

/**
 * `count` filler events in a fresh log, and every projection's checkpoint moved past them (see
 * skipFiller). Answers the position of the last one.
 */
export async function seedFiller(dataDir: string, database: AppDatabase | undefined, count: number, tag: string): Promise<number> {
  if (!database) {
    const seeder = new LogSeeder(join(dataDir, 'events.db'));
    seeder.transaction(() => seeder.filler(count, tag));
    const head = seeder.head();
    seeder.close();
    const documents = new SqliteDocumentStore(join(dataDir, 'readmodels.db'), { synchronous: 'NORMAL' });
    await skipFiller(documents, head).finally(() => documents.close());
    return head;
  }
  const pool = benchPool(database);
  try {
    const events = await PostgresEventStore.open(pool);
    await fillPostgres(pool, count, tag);
    const head = Number((await events.headPosition()) ?? 0);
    await events.close();
    await skipFiller(await PostgresDocumentStore.open(pool), head);
    return head;
  } finally {
    await pool.close();
  }
}

/** The log for the checks; on PostgreSQL only what follows `after` (a filler of a million events is not worth a copy). */
export async function logView(dataDir: string, database: AppDatabase | undefined, after?: number): Promise<LogView> {
  if (!database) return new LogReader(join(dataDir, 'events.db'));
  const pool = benchPool(database);
  return new PortLogReader(await PostgresEventStore.open(pool), () => pool.close(), after);
}
