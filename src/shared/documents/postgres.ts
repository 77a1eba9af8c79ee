import { createHash } from 'node:crypto';
import { lockKey, lockNamespace, Migration, Postgres } from '../postgres';
import { After, checkName, checkWrite, Condition, conditions, decodeCursor, encodeCursor, IndexCatalog, Sort, sortOf } from './query';
import { Checkpoint, CheckpointMoved, LeaseFenced, CollectionSpec, Doc, DocumentStore, DocWrite, FindQuery, Page } from './port';

const SQL_OPS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/**
 * A field as the indexes hold it and queries compare it: the jsonb value, with JSON null made
 * SQL NULL so that a missing field and a null one sort together (first ascending, as MongoDB
 * and SQLite do). jsonb compares numbers as numbers and strings by the database's collation.
 */
const column = (field: string) => (field === 'id' ? 'id' : `nullif(body -> '${field}', 'null'::jsonb)`);
type Bind = (field: string, value: unknown) => string;

/** Query parameters, each bound as the indexes hold its field: jsonb, but for id. */
function binder(): { readonly params: unknown[]; readonly bind: Bind } {
  const params: unknown[] = [];
  const bind: Bind = (field, value) => {
    params.push(field === 'id' ? value : JSON.stringify(value));
    return field === 'id' ? `$${params.length}` : `$${params.length}::jsonb`;
  };
  return { params, bind };
}

/** The collection is inlined, not bound, so the planner can tell that the partial indexes apply. */
const filterOf = (collection: string, where: readonly Condition[], bind: Bind) => [
  `collection = '${collection}'`,
  ...where.map((c) => `${column(c.field)} ${SQL_OPS[c.op]} ${bind(c.field, c.value)}`),
];

/** Index names must fit in 63 bytes; the field list is recorded in document_indexes instead. */
const indexName = (collection: string, fields: readonly string[]) =>
  `doc_${createHash('sha256').update(`${collection}(${fields.join(',')})`).digest('hex').slice(0, 24)}`;

/** What write_documents answers: written, or refused because the checkpoint moved or a newer lease holder wrote. */
type Written = { readonly moved?: true; readonly actual?: string | null; readonly fenced?: true; readonly current?: string };

/**
 * Read-model documents as jsonb rows in PostgreSQL, queried through per-collection partial
 * expression indexes, as in SQLite. A write (its documents and its checkpoint, with the
 * compare-and-set) is ONE call of write_documents, so one statement, one transaction and one
 * round trip; the checkpoint row is locked (FOR UPDATE) before it is compared, so two runners
 * of one projection take turns and the second finds the checkpoint moved.
 */
export class PostgresDocumentStore implements DocumentStore {
  readonly adapterName = 'postgres';
  private readonly catalog = new IndexCatalog();
  private readonly documents: string;

  private constructor(private readonly pg: Postgres) {
    this.documents = pg.table('documents');
  }

  static async open(pg: Postgres): Promise<PostgresDocumentStore> {
    await pg.migrate(migrations(pg));
    return new PostgresDocumentStore(pg);
  }

  /**
   * Creates what is missing under a lock of the schema, so instances starting together do not
   * race CREATE INDEX; one that finds every index recorded takes no lock at all.
   */
  async ensureCollection(spec: CollectionSpec): Promise<void> {
    this.catalog.declare(spec);
    const known = new Set((await this.storedIndexes(spec.name)).map((fields) => fields.join(',')));
    const missing = spec.indexes.filter((fields) => !known.has(fields.join(',')));
    if (missing.length === 0) return;
    await this.pg.transaction(async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(${lockNamespace}, ${lockKey(this.pg.schema, 'documents-index')})`);
      // Building an index over a large collection may take longer than a statement usually may.
      await client.query('SET LOCAL statement_timeout = 0');
      for (const fields of missing) {
        await client.query(
          `CREATE INDEX IF NOT EXISTS ${indexName(spec.name, fields)} ON ${this.documents}
           (${fields.map((field) => `(${column(field)}) NULLS FIRST`).join(', ')}, id) WHERE collection = '${spec.name}'`,
        );
        await client.query(`INSERT INTO ${this.pg.table('document_indexes')} (collection, fields) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
          spec.name,
          fields.join(','),
        ]);
      }
    });
  }

  async get<T extends Doc>(collection: string, id: string): Promise<T | null> {
    const [row] = await this.pg.query<{ body: T }>(`SELECT body FROM ${this.documents} WHERE collection = $1 AND id = $2`, [collection, id]);
    return row ? row.body : null;
  }

  async getMany<T extends Doc>(collection: string, ids: readonly string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    const rows = await this.pg.query<{ body: T }>(`SELECT body FROM ${this.documents} WHERE collection = $1 AND id = ANY($2::text[])`, [collection, ids]);
    return rows.map((row) => row.body);
  }

  async find<T extends Doc>(collection: string, query: FindQuery): Promise<Page<T>> {
    await this.catalog.check(collection, query, () => this.storedIndexes(collection));
    const sort = sortOf(query);
    const where = conditions(query);
    const after = query.cursor ? decodeCursor(query.cursor, sort) : null;
    const sortFieldFiltered = where.some((c) => c.field === sort.field);
    let rows: { body: T }[] = [];
    // Reading limit + 1 tells whether another page exists without a count.
    for (const run of runs(sort, after, sortFieldFiltered)) {
      if (rows.length > query.limit) break;
      const { params, bind } = binder();
      const filter = [...filterOf(collection, where, bind), ...run.where(bind)];
      params.push(query.limit + 1 - rows.length);
      const sql = `SELECT body FROM ${this.documents} WHERE ${filter.join(' AND ')} ORDER BY ${run.order} LIMIT $${params.length}`;
      rows = rows.concat(await this.pg.query<{ body: T }>(sql, params));
    }
    const items = rows.slice(0, query.limit).map((row) => row.body);
    return { items, nextCursor: rows.length > query.limit ? encodeCursor(sort, items[items.length - 1]) : null };
  }

  async count(collection: string, where: FindQuery['where'] = {}): Promise<number> {
    const query = { where, limit: 1 };
    await this.catalog.check(collection, query, () => this.storedIndexes(collection));
    const { params, bind } = binder();
    const sql = `SELECT count(*) AS n FROM ${this.documents} WHERE ${filterOf(collection, conditions(query), bind).join(' AND ')}`;
    const [row] = await this.pg.query<{ n: string }>(sql, params);
    return Number(row.n);
  }

  async write(writes: readonly DocWrite[], checkpoint?: Checkpoint): Promise<void> {
    writes.forEach(checkWrite);
    if (writes.length === 0 && !checkpoint) return;
    // Stored as its JSON form, like SQLite: what cannot be JSON (a BigInt) is refused here.
    const payload = JSON.stringify(writes.map((w) => (w.kind === 'upsert' ? { c: w.collection, i: w.doc.id, b: w.doc } : { c: w.collection, i: w.id })));
    const cas = checkpoint !== undefined && checkpoint.previous !== undefined;
    // Not retried on a lost connection: the write may have committed, and the CAS would then
    // call our own batch a moved checkpoint. The runner starts over from the stored checkpoint.
    const [row] = await this.pg.query<{ written: Written }>(
      `SELECT ${this.pg.table('write_documents')}($1::jsonb, $2, $3, $4, $5, $6) AS written`,
      [payload, checkpoint?.projection ?? null, checkpoint?.position ?? null, cas, cas ? checkpoint.previous : null, checkpoint?.fence ?? null],
      false,
    );
    const { written } = row;
    if (written.fenced) throw new LeaseFenced(checkpoint!.projection, checkpoint!.fence!, Number(written.current));
    if (written.moved) throw new CheckpointMoved(checkpoint!.projection, checkpoint!.previous ?? null, written.actual ?? null);
  }

  async getCheckpoint(projection: string): Promise<string | null> {
    const [row] = await this.pg.query<{ position: string | null }>(`SELECT position FROM ${this.pg.table('checkpoints')} WHERE projection = $1`, [projection]);
    return row?.position ?? null;
  }

  /** One transaction, without the statement timeout: a large read model may take a while to delete. The fence stays. */
  async reset(projection: string, collections: readonly string[]): Promise<void> {
    collections.forEach((c) => checkName('collection', c));
    await this.pg.transaction(async (client) => {
      await client.query('SET LOCAL statement_timeout = 0');
      await client.query(`DELETE FROM ${this.documents} WHERE collection = ANY($1::text[])`, [collections]);
      await client.query(`UPDATE ${this.pg.table('checkpoints')} SET position = NULL WHERE projection = $1`, [projection]);
    });
  }

  async ping(): Promise<void> {
    await this.pg.query(`SELECT 1 FROM ${this.pg.table('checkpoints')} LIMIT 1`);
  }

  /** The pool belongs to whoever made it. */
  async close(): Promise<void> {}

  private async storedIndexes(collection: string): Promise<string[][]> {
    const rows = await this.pg.query<{ fields: string }>(`SELECT fields FROM ${this.pg.table('document_indexes')} WHERE collection = $1`, [collection]);
    return rows.map((row) => row.fields.split(','));
  }
}

interface Run {
  readonly where: (bind: Bind) => string[];
  /** Exactly the index read forwards or backwards ((value NULLS FIRST, id)), or the planner sorts. */
  readonly order: string;
}

/**
 * The sorted order as runs that are each one range of an index, read in turn until the page is
 * full (as in SQLite): documents whose sort field is missing or null come first ascending and
 * last descending, as a run of their own in id order; "after (v, id) OR null" in one query
 * would make PostgreSQL collect and sort the whole rest of the collection.
 */
function runs(sort: Sort, after: After | null, sortFieldFiltered: boolean): Run[] {
  const asc = sort.direction === 'asc';
  const beyond = asc ? '>' : '<';
  const ids = asc ? 'ASC' : 'DESC';
  const byId = (from: After | null): Run => ({
    where: (bind) => (from ? [`id ${beyond} ${bind('id', from.id)}`] : []),
    order: `id ${ids}`,
  });
  if (sort.field === 'id') return [byId(after)];
  const value = column(sort.field);
  const nulls = (from: After | null): Run => ({ where: (bind) => [`${value} IS NULL`, ...byId(from).where(bind)], order: byId(from).order });
  const values = (from: After | null): Run => ({
    where: (bind) => {
      if (!from || from.value === null) return [`${value} IS NOT NULL`];
      // The redundant bound on the value alone is what the planner has statistics for: a row
      // comparison alone is estimated at a handful of rows, and those it would rather sort.
      const v = bind(sort.field, from.value);
      return [`${value} ${beyond}= ${v}`, `(${value}, id) ${beyond} (${v}, ${bind('id', from.id)})`];
    },
    order: `${value} ${asc ? 'ASC NULLS FIRST' : 'DESC NULLS LAST'}, id ${ids}`,
  });
  // A condition on the sort field is never true for NULL, so the null run would be empty.
  const sequence = (asc ? [nulls, values] : [values, nulls]).filter((run) => !(sortFieldFiltered && run === nulls));
  const first = after ? sequence.indexOf(after.value === null ? nulls : values) : 0;
  if (first < 0) return [];
  return sequence.slice(first).map((run, i) => run(i === 0 ? after : null));
}

/**
 * Ids compare bytewise (COLLATE "C"), as in SQLite and MongoDB. write_documents applies one
 * write whole or not at all (it is one statement): the lease fence and the checkpoint's
 * compare-and-set first, then the documents in order, then the new checkpoint.
 */
function migrations(pg: Postgres): Migration[] {
  const documents = pg.table('documents');
  const checkpoints = pg.table('checkpoints');
  return [
    {
      name: 'documents-1',
      sql: `
        CREATE TABLE ${documents} (
          collection text NOT NULL,
          id text COLLATE "C" NOT NULL,
          body jsonb NOT NULL,
          PRIMARY KEY (collection, id)
        );
        -- Lease fencing: the largest token written is kept, and a smaller one is refused before anything is written.
        CREATE TABLE ${checkpoints} (projection text PRIMARY KEY, position text, fence bigint);
        CREATE TABLE ${pg.table('document_indexes')} (collection text NOT NULL, fields text NOT NULL, PRIMARY KEY (collection, fields));
        CREATE FUNCTION ${pg.table('write_documents')}(writes jsonb, p_projection text, p_position text, p_check boolean, p_previous text, p_fence bigint)
        RETURNS json LANGUAGE plpgsql AS $fn$
        DECLARE
          w jsonb;
          stored ${checkpoints}%ROWTYPE;
        BEGIN
          IF p_check OR p_fence IS NOT NULL THEN
            INSERT INTO ${checkpoints} (projection, position) VALUES (p_projection, NULL) ON CONFLICT DO NOTHING;
            SELECT * INTO stored FROM ${checkpoints} WHERE projection = p_projection FOR UPDATE;
            IF p_fence IS NOT NULL AND coalesce(stored.fence, 0) > p_fence THEN
              RETURN json_build_object('fenced', true, 'current', stored.fence::text);
            END IF;
            IF p_check AND stored.position IS DISTINCT FROM p_previous THEN
              RETURN json_build_object('moved', true, 'actual', stored.position);
            END IF;
          END IF;
          FOR w IN SELECT value FROM jsonb_array_elements(writes) LOOP
            IF w ? 'b' THEN
              INSERT INTO ${documents} (collection, id, body) VALUES (w->>'c', w->>'i', w->'b')
              ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body;
            ELSE
              DELETE FROM ${documents} WHERE collection = w->>'c' AND id = w->>'i';
            END IF;
          END LOOP;
          IF p_projection IS NOT NULL THEN
            INSERT INTO ${checkpoints} AS c (projection, position, fence) VALUES (p_projection, p_position, p_fence)
            ON CONFLICT (projection) DO UPDATE SET position = excluded.position, fence = greatest(c.fence, excluded.fence);
          END IF;
          RETURN json_build_object();
        END
        $fn$;
      `,
    },
  ];
}
