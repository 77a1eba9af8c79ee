import { EventEmitter } from 'node:events';
import { fsync, openSync, closeSync } from 'node:fs';
import { BackgroundCheckpoints, checkpointInBackground, immediate, openSqlite, SqliteDatabase, SqliteOptions } from '../sqlite';
import { deepFreeze } from './frozen';
import {
  AppendResult,
  checkAppend,
  ConcurrencyConflict,
  EventStore,
  ExpectedRevision,
  formatPosition,
  judgeReplay,
  slotsOf,
  StoredEvent,
  StreamWrite,
} from './port';

interface EventRow {
  position: number;
  id: string;
  stream: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
}

interface PendingAppend {
  writes: readonly StreamWrite[];
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** An event this instance committed; its StoredEvent is made (and frozen) on first read. */
interface Committed {
  readonly row: EventRow;
  event?: StoredEvent;
}

/** Most recent own events kept for followers of the log; a follower further behind reads SQLite. */
const RECENT_MAX = 4096;

/** Streams whose last revision is remembered; past it the memory is dropped and rebuilt by the next reads. */
const HEADS_MAX = 100_000;

const toStored = (row: EventRow): StoredEvent => ({
  id: row.id,
  stream: row.stream,
  revision: BigInt(row.revision),
  position: formatPosition(row.position),
  type: row.type,
  data: JSON.parse(row.data),
  metadata: JSON.parse(row.metadata),
});

/**
 * The embedded event store. Several processes may share the file: every append runs inside
 * BEGIN IMMEDIATE, so reading a stream's revision and writing after it is one step.
 *
 * Appends that arrive in the same turn of the event loop are committed together (group commit):
 * each runs in its own savepoint, so a conflict undoes only that append, and all of them share
 * one fsync. Under load this is the difference between one durable commit per request and one
 * per batch.
 *
 * That fsync runs off the event loop. SQLite's own FULL mode fsyncs the write-ahead log inside
 * COMMIT, which blocks the only JavaScript thread for the whole disk flush (docs/BENCHMARKS.md,
 * "Second round"). So the connection commits with synchronous=NORMAL and the
 * store fsyncs the WAL file itself on libuv's thread pool; an append resolves, and its events
 * reach this instance's readers of the log, only after that fsync. What is acknowledged is as
 * durable as under FULL: the WAL is one file, so the fsync after a commit covers every frame
 * before it, and NORMAL still syncs around checkpoints. Meanwhile the event loop commits the
 * next batch, so disk flushes and request work overlap.
 *
 * The events this instance committed last are kept in memory for `readAll`: every projection
 * follows the log, so each append used to be selected and JSON-parsed once per projection. A
 * read is served from memory only as a run of consecutive positions starting right after the
 * requested one (nothing another process wrote can sit inside such a run); anything else is
 * read from SQLite. Served events are shared between readers, so they are frozen.
 *
 * Likewise for streams: a command loads an aggregate it has cached by asking for the events
 * after its revision, which is nearly always nothing. The store remembers each stream's last
 * revision from its reads and its own commits, and answers such a read from memory while
 * data_version says no other connection has committed since.
 */
export class SqliteEventStore implements EventStore {
  readonly adapterName = 'sqlite';
  private readonly db: SqliteDatabase;
  private readonly emitter = new EventEmitter();
  private queue: PendingAppend[] = [];
  private flushScheduled = false;
  private recent: Committed[] = [];
  private readonly statements;
  /** The WAL file's descriptor, for the off-thread fsync; null when appends need no fsync. */
  private walFd: number | null = null;
  private readonly syncsWal: boolean;
  private readonly checkpoints: BackgroundCheckpoints;
  private readonly walFile: string;
  /** Batches committed but not yet synced: their first positions, oldest first. */
  private readonly unsynced: number[] = [];
  /** For readAll at the head: the data_version it last saw, and the last position that existed then or that we have handed out since. */
  private seenVersion: number | null = null;
  private knownHead: number | null = null;
  /** Settles once every batch committed so far has been synced and handed out, in commit order. */
  private handedOut: Promise<void> = Promise.resolve();
  /** Each stream's last revision, or a bound above it, true while data_version stays at `headsVersion`. */
  private readonly heads = new Map<string, number>();
  private headsVersion: number | null = null;
  private versionThisTurn: number | null | undefined;

  constructor(file: string, options: SqliteOptions = {}) {
    this.syncsWal = file !== ':memory:' && (options.synchronous ?? 'FULL') === 'FULL';
    this.walFile = `${file}-wal`;
    this.db = openSqlite(file, { ...options, synchronous: this.syncsWal ? 'NORMAL' : options.synchronous });
    this.checkpoints = checkpointInBackground(this.db, file);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        stream TEXT NOT NULL,
        revision INTEGER NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        UNIQUE (stream, revision)
      );
    `);
    this.emitter.setMaxListeners(0);
    this.statements = {
      readStream: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?',
      ),
      readStreamBackward: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream = ? AND revision < ? ORDER BY revision DESC LIMIT ?',
      ),
      readAll: this.db.prepare<[number, number], EventRow>(
        'SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?',
      ),
      head: this.db.prepare<[], { position: number | null }>('SELECT MAX(position) AS position FROM events'),
      dataVersion: this.db.prepare<[], number>('PRAGMA data_version').pluck(),
      revision: this.db.prepare<[string], { revision: number | null }>(
        'SELECT MAX(revision) AS revision FROM events WHERE stream = ?',
      ),
      slots: this.db.prepare<[string, number, number], { id: string; position: number; revision: number }>(
        'SELECT id, position, revision FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?',
      ),
      insert: this.db.prepare(
        'INSERT INTO events (id, stream, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      savepoint: this.db.prepare('SAVEPOINT one_append'),
      release: this.db.prepare('RELEASE one_append'),
      rollbackTo: this.db.prepare('ROLLBACK TO one_append'),
    };
  }

  async readStream(stream: string, fromRevision = 0n, limit?: number): Promise<StoredEvent[]> {
    const from = Number(fromRevision);
    if (limit !== undefined && limit <= 0) return [];
    const version = this.dataVersion();
    if (version !== this.headsVersion) {
      this.heads.clear();
      this.headsVersion = version;
    }
    const head = this.heads.get(stream);
    if (head !== undefined && from > head) return [];
    const rows = this.statements.readStream.all(stream, from, limit ?? -1);
    // An empty answer says only that nothing lies at `from` or beyond: from - 1 bounds the head.
    // A full page of a limited read leaves the head unknown.
    if (limit === undefined || rows.length < limit) this.noteHead(stream, rows.length > 0 ? rows[rows.length - 1].revision : from - 1);
    return rows.map(toStored);
  }

  async readStreamBackward(stream: string, before: bigint | null, limit: number): Promise<StoredEvent[]> {
    if (limit <= 0) return [];
    return this.statements.readStreamBackward.all(stream, before === null ? Number.MAX_SAFE_INTEGER : Number(before), limit).map(toStored);
  }

  /**
   * data_version, asked once per turn of the event loop (a checkout's loads alone asked it five
   * times): another connection's commit during the turn shows in the next one, as if it had
   * committed a moment later, which any reader must allow for anyway.
   */
  private dataVersion(): number | null {
    if (this.versionThisTurn === undefined) {
      this.versionThisTurn = this.statements.dataVersion.get() ?? null;
      setImmediate(() => (this.versionThisTurn = undefined));
    }
    return this.versionThisTurn;
  }

  private noteHead(stream: string, revision: number): void {
    if (this.heads.size >= HEADS_MAX && !this.heads.has(stream)) this.heads.clear();
    this.heads.set(stream, revision);
  }

  async readAll(after: string | null, limit: number): Promise<StoredEvent[]> {
    const from = after === null ? 0 : Number(after);
    const recent = this.recentAfter(from, limit);
    if (recent) return recent;
    // A follower at the head asks again after every batch and every poll, nine loops of them, so
    // a query each time adds up (docs/BENCHMARKS.md, "Second round"). data_version moves only
    // when another connection commits, so while it stands still nothing exists past the head we
    // last saw but our own appends, which move `knownHead` themselves.
    const version = this.dataVersion();
    if (version !== null && version === this.seenVersion && this.knownHead !== null && from >= this.knownHead) return [];
    // Followers never see our events before they are durable: a projection must not send an
    // order to the data platform that a power cut could still take back.
    const syncedBelow = this.unsynced[0] ?? Infinity;
    const rows = this.statements.readAll.all(from, limit);
    const synced = rows.findIndex((row) => row.position >= syncedBelow);
    const visible = synced === -1 ? rows : rows.slice(0, synced);
    if (rows.length < limit) {
      this.seenVersion = version;
      this.knownHead = Math.max(this.knownHead ?? 0, visible.at(-1)?.position ?? from);
    }
    return visible.map(toStored);
  }

  /** Own recent events from position `from + 1` on, while positions are consecutive; null when `from + 1` is not among them. */
  private recentAfter(from: number, limit: number): StoredEvent[] | null {
    const recent = this.recent;
    let lo = 0;
    let hi = recent.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const position = recent[mid].row.position;
      if (position === from + 1) {
        const events: StoredEvent[] = [];
        for (let i = mid; i < recent.length && events.length < limit && recent[i].row.position === from + 1 + events.length; i += 1) {
          const committed = recent[i];
          committed.event ??= deepFreeze(toStored(committed.row));
          events.push(committed.event);
        }
        return events;
      }
      if (position < from + 1) lo = mid + 1;
      else hi = mid - 1;
    }
    return null;
  }

  /**
   * Positions are dense: AUTOINCREMENT in a table nothing deletes from, and an insert that is
   * rolled back gives its number back (sqlite_sequence rolls back with it). So the count is a
   * subtraction, whatever the lag.
   */
  async countAfter(after: string | null, limit: number): Promise<number> {
    const head = this.statements.head.get()!.position ?? 0;
    return Math.max(0, Math.min(limit, head - (after === null ? 0 : Number(after))));
  }

  async headPosition(): Promise<string | null> {
    const { position } = this.statements.head.get()!;
    return position === null ? null : formatPosition(position);
  }

  append(writes: readonly StreamWrite[]): Promise<AppendResult> {
    try {
      checkAppend(writes);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ writes, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  onAppended(listener: () => void): () => void {
    this.emitter.on('appended', listener);
    return () => this.emitter.off('appended', listener);
  }

  async ping(): Promise<void> {
    this.statements.head.get();
  }

  async close(): Promise<void> {
    this.flush();
    await this.handedOut;
    this.emitter.removeAllListeners();
    if (this.walFd !== null) closeSync(this.walFd);
    await this.checkpoints.stop();
    this.db.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; result: AppendResult } | { ok: false; error: unknown }> = [];
    const written: EventRow[] = [];
    try {
      immediate(this.db, () => {
        for (const pending of batch) {
          this.statements.savepoint.run();
          try {
            const rows: EventRow[] = [];
            outcomes.push({ ok: true, result: this.appendNow(pending.writes, rows) });
            this.statements.release.run();
            written.push(...rows);
          } catch (error) {
            this.statements.rollbackTo.run();
            this.statements.release.run();
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed (disk full, lock timeout): nothing of the batch was written.
      batch.forEach((pending) => pending.reject(error));
      return;
    }
    // Our own commit leaves data_version as it is, so the heads it moved are noted here: each
    // was read inside the write lock, so it is exact, known before or not.
    for (const row of written) this.noteHead(row.stream, row.revision);
    const syncing = written.length > 0 && this.syncsWal;
    const handOut = (syncError: unknown) => {
      if (syncing) this.unsynced.shift();
      if (syncError) {
        // The batch is committed but may not survive a power cut: report it as failed. A retry
        // with the same Idempotency-Key meets its own events and is answered, not written twice.
        batch.forEach((pending) => pending.reject(syncError));
        return;
      }
      this.remember(written);
      if (written.length > 0 && this.knownHead !== null) this.knownHead = Math.max(this.knownHead, written[written.length - 1].position);
      batch.forEach((pending, i) => {
        const outcome = outcomes[i];
        if (outcome.ok) pending.resolve(outcome.result);
        else pending.reject(outcome.error);
      });
      if (outcomes.some((outcome) => outcome.ok && !outcome.result.duplicate)) this.emitter.emit('appended');
    };
    if (!syncing) {
      // Nothing new to make durable, but answers still leave in commit order.
      this.handedOut = this.handedOut.then(() => handOut(null));
      return;
    }
    this.unsynced.push(written[0].position);
    const synced = this.syncWal();
    // fsyncs may finish out of order; batches are handed out in commit order all the same.
    this.handedOut = Promise.all([this.handedOut, synced]).then(
      ([, error]) => handOut(error),
      (error: unknown) => handOut(error),
    );
  }

  /** fsync of the WAL on the thread pool; resolves with the error instead of rejecting. */
  private syncWal(): Promise<unknown> {
    let fd: number;
    try {
      fd = this.walFd ??= openSync(this.walFile, 'r');
    } catch (error) {
      return Promise.resolve(error);
    }
    return new Promise((resolve) => fsync(fd, (error) => resolve(error)));
  }

  /** Keeps what was just committed for readers of the log (see the class comment). */
  private remember(rows: readonly EventRow[]): void {
    if (rows.length === 0) return;
    for (const row of rows) this.recent.push({ row });
    if (this.recent.length > RECENT_MAX) this.recent = this.recent.slice(this.recent.length - RECENT_MAX / 2);
  }

  /** Writes one append inside the current savepoint; the rows it inserted are added to `rows`. */
  private appendNow(writes: readonly StreamWrite[], rows: EventRow[]): AppendResult {
    const currents = writes.map((write) => this.statements.revision.get(write.stream)!.revision);
    const replayed = this.findReplay(writes, currents);
    if (replayed) return replayed;
    const revisions = new Map<string, bigint>();
    let position = 0;
    // The events of one command carry the same metadata object: serialised once.
    const metadataJson = new Map<object | undefined, string>();
    for (const [i, write] of writes.entries()) {
      const current = currents[i];
      checkExpected(write.stream, write.expectedRevision, current);
      let revision = current ?? -1;
      for (const event of write.events) {
        revision += 1;
        const data = JSON.stringify(event.data);
        let metadata = metadataJson.get(event.metadata);
        if (metadata === undefined) metadataJson.set(event.metadata, (metadata = JSON.stringify(event.metadata ?? {})));
        const info = this.statements.insert.run(event.id, write.stream, revision, event.type, data, metadata);
        position = Number(info.lastInsertRowid);
        rows.push({ position, id: event.id, stream: write.stream, revision, type: event.type, data, metadata });
      }
      revisions.set(write.stream, BigInt(revision));
    }
    return { position: formatPosition(position), revisions, duplicate: false };
  }

  /** The port's duplicate rule over what each write's slots hold now (`currents`: each stream's last revision). */
  private findReplay(writes: readonly StreamWrite[], currents: readonly (number | null)[]): AppendResult | null {
    const current = currents.map((revision) => (revision === null ? null : BigInt(revision)));
    const found = writes.map((write, i) => {
      const { from, count } = slotsOf(write, current[i]);
      // Slots past the head hold nothing: the usual append, with the expected revision right, asks no query.
      if (from > (current[i] ?? -1n)) return write.events.map(() => undefined);
      const rows = this.statements.slots.all(write.stream, Number(from), count);
      return write.events.map((_, j) => {
        const row = rows.find((r) => BigInt(r.revision) === from + BigInt(j));
        return row && { id: row.id, revision: BigInt(row.revision), position: formatPosition(row.position) };
      });
    });
    const replay = judgeReplay(writes, found);
    if (replay.kind === 'fresh') return null;
    if (replay.kind === 'replay') return replay.result;
    const i = writes.indexOf(replay.write);
    throw new ConcurrencyConflict(replay.write.stream, replay.write.expectedRevision, current[i] ?? 'no_stream');
  }
}

function checkExpected(stream: string, expected: ExpectedRevision, current: number | null): void {
  if (expected === 'any') return;
  if (expected === 'no_stream') {
    if (current !== null) throw new ConcurrencyConflict(stream, expected, BigInt(current));
    return;
  }
  if (current === null || BigInt(current) !== expected) {
    throw new ConcurrencyConflict(stream, expected, current === null ? 'no_stream' : BigInt(current));
  }
}
