import Database from 'better-sqlite3';
import { BackgroundCheckpoints, checkpointInBackground, immediate, openSqlite, SqliteDatabase, SqliteOptions } from '../sqlite';
import {
  After,
  checkName,
  checkWrite,
  Condition,
  conditions,
  decodeCursor,
  encodeCursor,
  IndexCatalog,
  Sort,
  sortOf,
} from './query';
import { Checkpoint, CheckpointMoved, LeaseFenced, CollectionSpec, Doc, DocumentStore, DocWrite, FindQuery, Page, Scalar } from './port';

interface PendingWrite {
  readonly writes: readonly DocWrite[];
  readonly checkpoint: Checkpoint | undefined;
  resolve(): void;
  reject(error: unknown): void;
}

const SQL_OPS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** Must be spelled identically in the index and in queries, or SQLite will not match them. */
const column = (field: string) => (field === 'id' ? 'id' : `json_extract(body, '$.${field}')`);
/** The name carries the field list so another process can tell what an index covers. */
const indexPrefix = (collection: string) => `documents:${collection}(`;
const indexName = (collection: string, fields: readonly string[]) => `"${indexPrefix(collection)}${fields.join(',')})"`;
/** json_extract turns JSON true/false into 1/0, and better-sqlite3 cannot bind booleans. */
const bindable = (value: Scalar) => (typeof value === 'boolean' ? Number(value) : value);

/**
 * Read-model documents as JSON rows in SQLite, queried through per-collection partial
 * expression indexes. Several processes may share the file (WAL); every write batch runs in
 * BEGIN IMMEDIATE together with its projection checkpoint.
 *
 * Always `synchronous = NORMAL`, whatever SQLITE_SYNCHRONOUS says for the event log: what is
 * stored here is derived. A batch and its checkpoint commit together, so a power cut can only
 * take the last batches back as a whole and the projector replays them from the log (a
 * process crash loses nothing either way). FULL adds an fsync to every batch of every
 * projection, one per projection per append under load: once the largest single cost of
 * POST /checkout in bench/ (docs/BENCHMARKS.md, "Profiling and what was fixed"). Delivery states
 * of the data-platform outbox live here too; one taken back means a repeated, idempotent send.
 */
export class SqliteDocumentStore implements DocumentStore {
  readonly adapterName = 'sqlite';
  private readonly db: SqliteDatabase;
  private readonly catalog = new IndexCatalog();
  /** Find and count statements are built per query shape; there are few shapes, so keep them all. */
  private readonly queries = new Map<string, Database.Statement<unknown[], unknown>>();
  private readonly statements;
  private queue: PendingWrite[] = [];
  private readonly checkpoints: BackgroundCheckpoints;

  constructor(file: string, options: SqliteOptions = {}) {
    this.db = openSqlite(file, { ...options, synchronous: 'NORMAL' });
    this.checkpoints = checkpointInBackground(this.db, file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS documents (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (collection, id)
      );
      CREATE TABLE IF NOT EXISTS checkpoints (
        projection TEXT PRIMARY KEY,
        position TEXT
      );
    `);
    // Files written before fencing have no fence column: none was written yet.
    const columns = this.db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('checkpoints')").all();
    if (!columns.some((c) => c.name === 'fence')) this.db.exec('ALTER TABLE checkpoints ADD COLUMN fence INTEGER');
    this.statements = {
      get: this.db
        .prepare<[string, string], string>('SELECT body FROM documents WHERE collection = ? AND id = ?')
        .pluck(),
      getMany: this.db
        .prepare<[string, string], string>(
          'SELECT body FROM documents WHERE collection = ? AND id IN (SELECT value FROM json_each(?))',
        )
        .pluck(),
      upsert: this.db.prepare<[string, string, string], void>(
        `INSERT INTO documents (collection, id, body) VALUES (?, ?, ?)
         ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body`,
      ),
      delete: this.db.prepare<[string, string], void>('DELETE FROM documents WHERE collection = ? AND id = ?'),
      deleteAll: this.db.prepare<[string], void>('DELETE FROM documents WHERE collection = ?'),
      getCheckpoint: this.db
        .prepare<[string], string | null>('SELECT position FROM checkpoints WHERE projection = ?')
        .pluck(),
      getFence: this.db.prepare<[string], number | null>('SELECT fence FROM checkpoints WHERE projection = ?').pluck(),
      setCheckpoint: this.db.prepare<[string, string | null, number | null], void>(
        `INSERT INTO checkpoints (projection, position, fence) VALUES (?, ?, ?)
         ON CONFLICT (projection) DO UPDATE SET position = excluded.position, fence = max(coalesce(fence, 0), coalesce(excluded.fence, 0))`,
      ),
      deleteCheckpoint: this.db.prepare<[string], void>('UPDATE checkpoints SET position = NULL WHERE projection = ?'),
      indexNames: this.db
        .prepare<[number, string], string>(
          `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents' AND substr(name, 1, ?) = ?`,
        )
        .pluck(),
      ping: this.db.prepare('SELECT 1'),
      savepoint: this.db.prepare('SAVEPOINT one_write'),
      release: this.db.prepare('RELEASE one_write'),
      rollbackTo: this.db.prepare('ROLLBACK TO one_write'),
    };
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    this.catalog.declare(spec);
    for (const fields of spec.indexes) {
      this.db.exec(
        `CREATE INDEX IF NOT EXISTS ${indexName(spec.name, fields)}
         ON documents (${[...fields.map(column), 'id'].join(', ')}) WHERE collection = '${spec.name}'`,
      );
    }
  }

  async get<T extends Doc>(collection: string, id: string): Promise<T | null> {
    const body = this.statements.get.get(collection, id);
    return body === undefined ? null : (JSON.parse(body) as T);
  }

  async getMany<T extends Doc>(collection: string, ids: readonly string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    return this.statements.getMany.all(collection, JSON.stringify(ids)).map((body) => JSON.parse(body) as T);
  }

  async find<T extends Doc>(collection: string, query: FindQuery): Promise<Page<T>> {
    const { sort, where, from, filter, params } = await this.selection(collection, query);
    const after = query.cursor ? decodeCursor(query.cursor, sort) : null;
    const sortFieldFiltered = where.some((c) => c.field === sort.field);

    // Reading limit + 1 tells whether another page exists without a count.
    let bodies: string[] = [];
    for (const run of runs(sort, after, sortFieldFiltered)) {
      if (bodies.length > query.limit) break;
      const sql = `SELECT body ${from} WHERE ${[...filter, ...run.where].join(' AND ')} ORDER BY ${run.order} LIMIT ?`;
      bodies = bodies.concat(this.statement<string>(sql).all(...params, ...run.params, query.limit + 1 - bodies.length));
    }
    const items = bodies.slice(0, query.limit).map((body) => JSON.parse(body) as T);
    const more = bodies.length > query.limit;
    return { items, nextCursor: more ? encodeCursor(sort, items[items.length - 1]) : null };
  }

  async count(collection: string, where: FindQuery['where'] = {}): Promise<number> {
    const { from, filter, params } = await this.selection(collection, { where, limit: 1 });
    return this.statement<number>(`SELECT COUNT(*) ${from} WHERE ${filter.join(' AND ')}`).get(...params)!;
  }

  /** The checked query's rows: the index to read them through, and the filter on it. */
  private async selection(collection: string, query: FindQuery) {
    await this.catalog.check(collection, query, async () => this.storedIndexes(collection));
    const sort = sortOf(query);
    const where = conditions(query);
    const hint = chooseIndex(this.catalog.indexes(collection), where, sort.field);
    const from = `FROM documents${hint ? ` INDEXED BY ${indexName(collection, hint)}` : ''}`;
    // The collection is inlined, not bound, so SQLite can tell that the partial indexes apply.
    const filter = [`collection = '${collection}'`, ...where.map((c) => `${column(c.field)} ${SQL_OPS[c.op]} ?`)];
    const params = where.map((c) => bindable(c.value));
    return { sort, where, from, filter, params };
  }

  write(writes: readonly DocWrite[], checkpoint?: Checkpoint): Promise<void> {
    try {
      writes.forEach(checkWrite);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, checkpoint, resolve, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  /**
   * Commits every write queued in this turn of the event loop in one transaction, each in its own
   * savepoint: a checkpoint that moved, or a document JSON.stringify refuses (a BigInt), undoes
   * only its own write. The projections woken by one append all write in the same turn, and one
   * COMMIT instead of one each writes the shared b-tree pages to the WAL once instead of nine times.
   */
  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: unknown[] = [];
    try {
      immediate(this.db, () => {
        for (const pending of batch) {
          this.statements.savepoint.run();
          try {
            this.writeNow(pending.writes, pending.checkpoint);
            this.statements.release.run();
            outcomes.push(null);
          } catch (error) {
            this.statements.rollbackTo.run();
            this.statements.release.run();
            outcomes.push(error ?? new Error('document write failed'));
          }
        }
      });
    } catch (error) {
      // The commit itself failed (disk full, lock timeout): nothing of the batch was written.
      batch.forEach((pending) => pending.reject(error));
      return;
    }
    batch.forEach((pending, i) => (outcomes[i] === null ? pending.resolve() : pending.reject(outcomes[i])));
  }

  private writeNow(writes: readonly DocWrite[], checkpoint: Checkpoint | undefined): void {
    if (checkpoint?.fence !== undefined) {
      const current = this.statements.getFence.get(checkpoint.projection) ?? null;
      if (current !== null && current > checkpoint.fence) throw new LeaseFenced(checkpoint.projection, checkpoint.fence, current);
    }
    if (checkpoint && checkpoint.previous !== undefined) {
      const actual = this.statements.getCheckpoint.get(checkpoint.projection) ?? null;
      if (actual !== checkpoint.previous) throw new CheckpointMoved(checkpoint.projection, checkpoint.previous, actual);
    }
    for (const w of writes) {
      if (w.kind === 'upsert') this.statements.upsert.run(w.collection, w.doc.id, JSON.stringify(w.doc));
      else this.statements.delete.run(w.collection, w.id);
    }
    if (checkpoint) this.statements.setCheckpoint.run(checkpoint.projection, checkpoint.position, checkpoint.fence ?? null);
  }

  async getCheckpoint(projection: string): Promise<string | null> {
    return this.statements.getCheckpoint.get(projection) ?? null;
  }

  async reset(projection: string, collections: readonly string[]): Promise<void> {
    collections.forEach((c) => checkName('collection', c));
    immediate(this.db, () => {
      for (const collection of collections) this.statements.deleteAll.run(collection);
      this.statements.deleteCheckpoint.run(projection);
    });
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    if (this.queue.length > 0) this.flush();
    await this.checkpoints.stop();
    this.db.close();
  }

  private storedIndexes(collection: string): string[][] {
    const prefix = indexPrefix(collection);
    const names = this.statements.indexNames.all(prefix.length, prefix);
    return names.map((name) => name.slice(prefix.length, -1).split(','));
  }

  /** Prepared once per query shape; the single column is plucked. */
  private statement<R>(sql: string): Database.Statement<unknown[], R> {
    let statement = this.queries.get(sql);
    if (!statement) {
      statement = this.db.prepare<unknown[], unknown>(sql).pluck();
      this.queries.set(sql, statement);
    }
    return statement as Database.Statement<unknown[], R>;
  }
}

/**
 * Without ANALYZE statistics SQLite rates `collection = '…'` on the primary key as very
 * selective, and would rather sort a whole collection in a temp b-tree than walk a partial
 * index in order. So the index is named here: the one whose leading fields take the most
 * equalities, then preferably the sort field or a range.
 */
function chooseIndex(indexes: (readonly string[])[], where: Condition[], sortField: string) {
  const equal = new Set(where.filter((c) => c.op === 'eq').map((c) => c.field));
  const ranged = new Set(where.filter((c) => c.op !== 'eq').map((c) => c.field));
  let best: readonly string[] | undefined;
  let bestScore = 0;
  for (const fields of indexes) {
    let n = 0;
    while (n < fields.length && equal.has(fields[n])) n++;
    const next = fields[n];
    const score = 2 * n + (next !== undefined && (next === sortField || ranged.has(next)) ? 1 : 0);
    if (score > bestScore) [best, bestScore] = [fields, score];
  }
  return best;
}

interface Run {
  readonly where: string[];
  readonly params: unknown[];
  readonly order: string;
}

/**
 * The sorted order as runs that are each one index range, read in turn until the page is full.
 * Documents whose sort field is missing or null come first ascending and last descending (as
 * in MongoDB). SQLite cannot seek on "value < v OR value IS NULL", so they are a run of their
 * own, in id order; and it does not seek on row values ((value, id) > (?, ?)) over expression
 * columns, hence the redundant `value >= v` that gives it a starting point.
 */
function runs(sort: Sort, after: After | null, sortFieldFiltered: boolean): Run[] {
  const dir = sort.direction === 'asc' ? 'ASC' : 'DESC';
  const beyond = sort.direction === 'asc' ? '>' : '<';
  const byId = (from: After | null): Run => ({
    where: from ? [`id ${beyond} ?`] : [],
    params: from ? [from.id] : [],
    order: `id ${dir}`,
  });
  if (sort.field === 'id') return [byId(after)];

  const value = column(sort.field);
  const nulls = (from: After | null): Run => {
    const rest = byId(from);
    return { ...rest, where: [`${value} IS NULL`, ...rest.where] };
  };
  const values = (from: After | null): Run => {
    const order = `${value} ${dir}, id ${dir}`;
    if (!from || from.value === null) return { where: [`${value} IS NOT NULL`], params: [], order };
    const v = bindable(from.value);
    const where = [`${value} ${beyond}= ?`, `(${value} ${beyond} ? OR id ${beyond} ?)`];
    return { where, params: [v, v, from.id], order };
  };
  // A condition on the sort field is never true for NULL, so the null run would be empty.
  const sequence = (sort.direction === 'asc' ? [nulls, values] : [values, nulls]).filter(
    (run) => !(sortFieldFiltered && run === nulls),
  );
  const start = after ? sequence.indexOf(after.value === null ? nulls : values) : 0;
  if (start < 0) return [];
  return sequence.slice(start).map((run, i) => run(i === 0 ? after : null));
}
