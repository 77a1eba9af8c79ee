import { EventEmitter } from 'node:events';
import { Client } from 'pg';
import { DatabaseUnavailable, lockKey, lockNamespace, Migration, Postgres } from '../postgres';
import { deepFreeze } from './frozen';
import {
  AppendResult,
  checkAppend,
  ConcurrencyConflict,
  EventStore,
  formatPosition,
  judgeReplay,
  slotsOf,
  StoredEvent,
  StreamWrite,
} from './port';

interface EventRow {
  position: string;
  id: string;
  stream: string;
  revision: string;
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** What append_batch answers for each append of a batch (see the migration). */
type Answer =
  | { readonly k: 'ok'; readonly p: string; readonly r: readonly string[] }
  /** Write `w` found the stream at revision `a` (null: no stream). */
  | { readonly k: 'conflict'; readonly w: number; readonly a: string | null }
  /** Some event id is already in the log: the duplicate rule decides, outside the batch. */
  | { readonly k: 'recheck' };

interface PendingAppend {
  readonly writes: readonly StreamWrite[];
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** Most appends one round trip carries. */
const MAX_BATCH = 256;
/**
 * Batches on their way at once: the second waits at the server for the lock while the first
 * commits, so the server never idles through our round trip and our answering of a batch.
 */
const MAX_IN_FLIGHT = 2;
/** How soon a broken LISTEN connection is replaced; meanwhile followers poll. */
const RELISTEN_MS = 1_000;

const toStored = (row: EventRow): StoredEvent => ({
  id: row.id,
  stream: row.stream,
  revision: BigInt(row.revision),
  position: formatPosition(BigInt(row.position)),
  type: row.type,
  data: row.data,
  metadata: row.metadata,
});

const wire = (writes: readonly StreamWrite[]) =>
  writes.map((write) => ({
    s: write.stream,
    x: typeof write.expectedRevision === 'bigint' ? write.expectedRevision.toString() : write.expectedRevision,
    // Data travels as text inside the batch so that the log keeps it byte for byte (see the migration).
    e: write.events.map((event) => ({ i: event.id, t: event.type, d: JSON.stringify(event.data), m: JSON.stringify(event.metadata ?? {}) })),
  }));

/**
 * The event log on PostgreSQL.
 *
 * Global positions and concurrent writers: a follower reads "everything after position P", so
 * an event must never become visible at a position lower than one already visible. A plain
 * sequence breaks that (transaction A takes 7, B takes 8, B commits, a follower reads 8 and
 * moves on, A commits 7 behind it). Two cures are known: serialise appends so positions are
 * taken and committed in order, or let writers run in parallel and hide events above a
 * transaction-id watermark (pg_snapshot_xmin), ordering the log by (transaction id, sequence).
 * We serialise, with a transaction-level advisory lock of this schema taken by every append:
 * it is released only after the commit is visible, so whoever takes the next positions commits
 * after. We measured both (docs/BENCHMARKS.md, "PostgreSQL event store: appends"): with group commit the
 * lock costs little, positions stay plain numbers, and no transaction anywhere on the server
 * (the watermark is cluster-wide) can hold every follower back while it runs.
 *
 * Group commit amortises the lock: appends queue while batches are in flight and the next batch
 * goes to the server as ONE call of append_batch, which takes the lock, checks and writes each
 * append in turn (one conflict fails only its own append) and commits once. One round trip and
 * one WAL flush for the batch, so an instance's throughput grows with its load.
 *
 * An append that meets an id already in the log, or a revision that does not match, is judged
 * here with the port's duplicate rule (judgeReplay), outside the lock: the log only grows, so
 * what the rule looks at cannot un-happen.
 *
 * A batch whose connection was lost (or which the server refused) is sent once more: it may
 * have committed, and then every append of it finds its own event ids and is answered as the
 * replay it is. Only once, and not after a timeout: the batch holds an in-flight slot while it
 * waits. What still fails is DatabaseUnavailable, for every append of the batch, and the
 * client's retry with its Idempotency-Key meets its own events if they landed after all.
 * LISTEN/NOTIFY tells followers in other processes that the log moved.
 */
export class PostgresEventStore implements EventStore {
  readonly adapterName = 'postgres';
  private readonly emitter = new EventEmitter();
  private readonly events: string;
  private readonly channel: string;
  private queue: PendingAppend[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private listener: Client | null = null;
  private relisten: NodeJS.Timeout | null = null;
  private closed = false;
  /** readAll queries started in this turn of the event loop, by (after, limit): see readAll. */
  private readonly reads = new Map<string, Promise<readonly StoredEvent[]>>();

  private constructor(private readonly pg: Postgres) {
    this.events = pg.table('events');
    this.channel = `${pg.schema}:appended`;
    this.emitter.setMaxListeners(0);
  }

  /** Creates or migrates the schema, then starts listening for other processes' appends. */
  static async open(pg: Postgres): Promise<PostgresEventStore> {
    await pg.migrate(migrations(pg));
    const store = new PostgresEventStore(pg);
    await store.listen().catch(() => store.scheduleListen());
    return store;
  }

  async readStream(stream: string, fromRevision = 0n, limit?: number): Promise<StoredEvent[]> {
    if (limit !== undefined && limit <= 0) return [];
    const rows = await this.pg.query<EventRow>(
      `SELECT position, id, stream, revision, type, data, metadata FROM ${this.events} WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
      [stream, fromRevision.toString(), limit ?? null],
    );
    return rows.map(toStored);
  }

  async readStreamBackward(stream: string, before: bigint | null, limit: number): Promise<StoredEvent[]> {
    if (limit <= 0) return [];
    const rows = await this.pg.query<EventRow>(
      `SELECT position, id, stream, revision, type, data, metadata FROM ${this.events} WHERE stream = $1 AND revision < $2 ORDER BY revision DESC LIMIT $3`,
      [stream, before === null ? '9223372036854775807' : before.toString(), limit],
    );
    return rows.map(toStored);
  }

  /**
   * Every projection follows the log on its own, and one append wakes them all in the same turn
   * of the event loop, at the same position: they share one query then (its events frozen, as
   * they are shared). Only within that turn: a caller arriving later might have been woken by
   * an event the running query cannot see yet.
   */
  async readAll(after: string | null, limit: number): Promise<StoredEvent[]> {
    const key = `${after}|${limit}`;
    let read = this.reads.get(key);
    if (!read) {
      read = this.pg
        .query<EventRow>(
          `SELECT position, id, stream, revision, type, data, metadata FROM ${this.events} WHERE position > $1 ORDER BY position LIMIT $2`,
          [after === null ? '0' : BigInt(after).toString(), limit],
        )
        .then((rows) => rows.map((row) => deepFreeze(toStored(row))));
      const started = read;
      this.reads.set(key, started);
      setImmediate(() => {
        if (this.reads.get(key) === started) this.reads.delete(key);
      });
    }
    return [...(await read)];
  }

  /** An index-only scan of at most `limit` primary-key entries: positions have gaps (a rolled-back append still drew its numbers). */
  async countAfter(after: string | null, limit: number): Promise<number> {
    const [row] = await this.pg.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT 1 FROM ${this.events} WHERE position > $1 ORDER BY position LIMIT $2) AS behind`,
      [after === null ? '0' : BigInt(after).toString(), limit],
    );
    return Number(row.n);
  }

  async headPosition(): Promise<string | null> {
    const [row] = await this.pg.query<{ position: string | null }>(`SELECT max(position) AS position FROM ${this.events}`);
    return row.position === null ? null : formatPosition(BigInt(row.position));
  }

  append(writes: readonly StreamWrite[]): Promise<AppendResult> {
    try {
      checkAppend(writes);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, resolve, reject });
      this.schedule();
    });
  }

  onAppended(listener: () => void): () => void {
    this.emitter.on('appended', listener);
    return () => this.emitter.off('appended', listener);
  }

  async ping(): Promise<void> {
    await this.pg.query(`SELECT 1 FROM ${this.events} LIMIT 1`);
  }

  /** Waits for appends in flight; the pool belongs to whoever made it. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight.size > 0 || this.scheduled) await Promise.all([...this.inFlight, new Promise((resolve) => setImmediate(resolve))]);
    if (this.relisten) clearTimeout(this.relisten);
    this.emitter.removeAllListeners();
    await this.listener?.end().catch(() => undefined);
    this.listener = null;
  }

  /** Appends made in the same turn of the event loop leave together, in the next one. */
  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight.size >= MAX_IN_FLIGHT) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.queue.length > 0 && this.inFlight.size < MAX_IN_FLIGHT) {
        const sent: Promise<unknown> = this.commit(this.queue.splice(0, MAX_BATCH)).finally(() => {
          this.inFlight.delete(sent);
          this.schedule();
        });
        this.inFlight.add(sent);
      }
    });
  }

  /** Settles every append of the batch; never throws. Answers the outage that failed it, if one did. */
  private async commit(batch: readonly PendingAppend[], retried = false): Promise<DatabaseUnavailable | undefined> {
    let answers: Answer[];
    try {
      answers = await this.appendBatch(batch);
    } catch (error) {
      if (error instanceof DatabaseUnavailable) {
        if (!retried && error.outage !== 'timeout') return this.commit(batch, true);
        for (const pending of batch) pending.reject(error);
        return error;
      }
      // One bad append (ids repeated inside it: a caller's bug) must not fail its neighbours:
      // apart, each gets its own answer, until the server fails one, which fails the rest alike.
      if (batch.length > 1) return this.oneByOne(batch);
      batch[0].reject(error);
      return undefined;
    }
    // A resent batch may have committed the first time, so every answer is a replay and nobody heard of it.
    if (retried || answers.some((answer) => answer.k === 'ok')) this.emitter.emit('appended');
    await Promise.all(
      batch.map(async (pending, i) => {
        try {
          pending.resolve(await this.settle(pending.writes, answers[i]));
        } catch (error) {
          pending.reject(error);
        }
      }),
    );
    return undefined;
  }

  private async oneByOne(batch: readonly PendingAppend[]): Promise<DatabaseUnavailable | undefined> {
    for (const [i, pending] of batch.entries()) {
      const outage = await this.commit([pending]);
      if (!outage) continue;
      for (const rest of batch.slice(i + 1)) rest.reject(outage);
      return outage;
    }
    return undefined;
  }

  private async appendBatch(batch: readonly PendingAppend[]): Promise<Answer[]> {
    const payload = JSON.stringify(batch.map((pending) => wire(pending.writes)));
    const [row] = await this.pg.query<{ answers: Answer[] }>(`SELECT ${this.pg.table('append_batch')}($1::jsonb) AS answers`, [payload], false);
    return row.answers;
  }

  private async settle(writes: readonly StreamWrite[], answer: Answer): Promise<AppendResult> {
    if (answer.k === 'ok') {
      const revisions = new Map(writes.map((write, i) => [write.stream, BigInt(answer.r[i])]));
      return { position: formatPosition(BigInt(answer.p)), revisions, duplicate: false };
    }
    const current = await Promise.all(writes.map((write) => this.revisionOf(write.stream)));
    const found = await Promise.all(writes.map((write, i) => this.slots(write, current[i])));
    const replay = judgeReplay(writes, found);
    if (replay.kind === 'replay') return replay.result;
    const [write, actual] =
      replay.kind === 'partial'
        ? [replay.write, current[writes.indexOf(replay.write)]]
        : answer.k === 'conflict'
          ? [writes[answer.w], answer.a === null ? null : BigInt(answer.a)]
          : // An id the log holds somewhere else: a caller's bug (ids are unique), refused all the same.
            [writes[0], current[0]];
    throw new ConcurrencyConflict(write.stream, write.expectedRevision, actual ?? 'no_stream');
  }

  private async revisionOf(stream: string): Promise<bigint | null> {
    const [row] = await this.pg.query<{ revision: string | null }>(`SELECT max(revision) AS revision FROM ${this.events} WHERE stream = $1`, [stream]);
    return row.revision === null ? null : BigInt(row.revision);
  }

  /** What the write's slots hold (see slotsOf), for judgeReplay. */
  private async slots(write: StreamWrite, current: bigint | null) {
    const { from, count } = slotsOf(write, current);
    const rows = await this.pg.query<{ id: string; revision: string; position: string }>(
      `SELECT id, revision, position FROM ${this.events} WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
      [write.stream, from.toString(), count],
    );
    return write.events.map((_, j) => {
      const row = rows.find((r) => BigInt(r.revision) === from + BigInt(j));
      return row && { id: row.id, revision: BigInt(row.revision), position: formatPosition(BigInt(row.position)) };
    });
  }

  /** A connection of its own (LISTEN holds one for good), replaced when it breaks. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = this.pg.client('eventmart-listen');
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = null;
      client.end().catch(() => undefined);
      this.scheduleListen();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => this.emitter.emit('appended'));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (error) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    // The log may have moved while nobody listened.
    this.emitter.emit('appended');
  }

  private scheduleListen(): void {
    if (this.closed || this.relisten) return;
    this.relisten = setTimeout(() => {
      this.relisten = null;
      this.listen().catch(() => this.scheduleListen());
    }, RELISTEN_MS);
    this.relisten.unref();
  }
}

/**
 * The log's table and append_batch. The function runs a whole batch in one transaction under
 * the schema's append lock: per append, the ids are looked for first (any present: 'recheck'),
 * then every write's expected revision, and only then are its events inserted, so an append
 * that fails writes nothing and needs no subtransaction. The batch is jsonb (parsed once; json
 * would be parsed again at every ->), but each event's data and metadata ride in it as text and
 * are stored as json, not jsonb: the log keeps what was written, byte for byte.
 */
function migrations(pg: Postgres): Migration[] {
  const events = pg.table('events');
  const ids = "SELECT e->>'i' FROM jsonb_array_elements(one) AS ws(w), jsonb_array_elements(ws.w->'e') AS es(e)";
  return [
    {
      name: 'eventstore-1',
      sql: `
        CREATE TABLE ${events} (
          position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
          id text NOT NULL UNIQUE,
          stream text NOT NULL,
          revision bigint NOT NULL,
          type text NOT NULL,
          data json NOT NULL,
          metadata json NOT NULL,
          UNIQUE (stream, revision)
        );
        ${appendBatch(pg, 'CREATE', { declare: '', lookUp: '', present: `id IN (${ids})` })}
      `,
    },
    {
      // The planner took the ids' subquery for thousands of rows and scanned a log of fewer than
      // about 30,000 events for them at every append. Gathered into a variable first, they reach
      // the lookup as an array of known length: an index probe per id at any size.
      name: 'eventstore-2',
      sql: appendBatch(pg, 'CREATE OR REPLACE', { declare: 'one_ids text[];', lookUp: `one_ids := ARRAY(${ids});`, present: 'id = ANY (one_ids)' }),
    },
  ];
}

/**
 * append_batch. `ids` says how an append's ids are looked for in the log: `present` is the
 * condition on a log row, after `lookUp` (statements, with their `declare`d variables) ran.
 */
function appendBatch(pg: Postgres, verb: 'CREATE' | 'CREATE OR REPLACE', ids: { declare: string; lookUp: string; present: string }): string {
  const events = pg.table('events');
  return `
        ${verb} FUNCTION ${pg.table('append_batch')}(batch jsonb) RETURNS json LANGUAGE plpgsql AS $fn$
        DECLARE
          one jsonb;
          w jsonb;
          answers json[] := '{}';
          cur bigint;
          expected text;
          revs bigint[];
          conflict json;
          last_position bigint;
          inserted bigint;
          i int;
          wrote boolean := false;
          ${ids.declare}
        BEGIN
          PERFORM pg_advisory_xact_lock(${lockNamespace}, ${lockKey(pg.schema, 'append')});
          FOR one IN SELECT value FROM jsonb_array_elements(batch) LOOP
            ${ids.lookUp}
            IF EXISTS (
              SELECT 1 FROM ${events}
              WHERE ${ids.present}
            ) THEN
              answers := answers || json_build_object('k', 'recheck');
              CONTINUE;
            END IF;
            conflict := NULL;
            revs := '{}';
            i := 0;
            FOR w IN SELECT value FROM jsonb_array_elements(one) LOOP
              SELECT max(revision) INTO cur FROM ${events} WHERE stream = w->>'s';
              expected := w->>'x';
              IF (expected = 'no_stream' AND cur IS NOT NULL)
                 OR (expected NOT IN ('no_stream', 'any') AND cur IS DISTINCT FROM expected::bigint) THEN
                conflict := json_build_object('k', 'conflict', 'w', i, 'a', cur::text);
                EXIT;
              END IF;
              revs := revs || coalesce(cur, -1);
              i := i + 1;
            END LOOP;
            IF conflict IS NOT NULL THEN
              answers := answers || conflict;
              CONTINUE;
            END IF;
            i := 0;
            last_position := 0;
            FOR w IN SELECT value FROM jsonb_array_elements(one) LOOP
              i := i + 1;
              WITH written AS (
                INSERT INTO ${events} (id, stream, revision, type, data, metadata)
                SELECT x.e->>'i', w->>'s', revs[i] + x.n, x.e->>'t', (x.e->>'d')::json, (x.e->>'m')::json
                FROM jsonb_array_elements(w->'e') WITH ORDINALITY AS x(e, n)
                ORDER BY x.n
                RETURNING position
              )
              SELECT max(position) INTO inserted FROM written;
              last_position := greatest(last_position, inserted);
              revs[i] := revs[i] + jsonb_array_length(w->'e');
            END LOOP;
            answers := answers || json_build_object('k', 'ok', 'p', last_position::text, 'r', revs::text[]);
            wrote := true;
          END LOOP;
          IF wrote THEN
            PERFORM pg_notify('${pg.schema}:appended', '');
          END IF;
          RETURN to_json(answers);
        END
        $fn$;
  `;
}
