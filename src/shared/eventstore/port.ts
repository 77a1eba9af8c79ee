/**
 * The event log: the only source of truth (docs/ARCHITECTURE.md, principle 1).
 *
 * Revisions count events in one stream from 0. Positions order the whole log; they are opaque
 * strings that compare correctly as plain strings (adapters zero-pad their numbers), so a
 * client can hand one back in `X-Consistent-With` and we can compare without parsing.
 */
export type ExpectedRevision = 'no_stream' | 'any' | bigint;

export type JsonObject = { readonly [key: string]: unknown };

export interface NewEvent {
  /**
   * A UUID, unique in the whole log. Deterministic where a retry could repeat the write, so the
   * store can recognise the repeat (see the duplicate rule on `append`); src/shared/command/event-ids.ts hashes the
   * stream name in, so such an id belongs to one stream and one place in it.
   */
  readonly id: string;
  /** Matches EVENT_TYPE_PATTERN. */
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata?: JsonObject;
}

export interface StoredEvent extends Required<NewEvent> {
  readonly stream: string;
  readonly revision: bigint;
  readonly position: string;
}

export interface StreamWrite {
  readonly stream: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: readonly NewEvent[];
}

export interface AppendResult {
  /** Position of the last event written (or, for a replayed write, of the original). */
  readonly position: string;
  /** Revision of each written stream after the append. */
  readonly revisions: ReadonlyMap<string, bigint>;
  /** True when every event was already present (the duplicate rule on `append`): nothing was written. */
  readonly duplicate: boolean;
}

/** What KurrentDB accepts as an event type in a multi-stream append; every adapter holds all appends to it. */
export const EVENT_TYPE_PATTERN = /^[a-zA-Z0-9_.$:-]+$/;

export class ConcurrencyConflict extends Error {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream ${stream}: expected revision ${String(expected)}, found ${String(actual)}`);
    this.name = 'ConcurrencyConflict';
  }
}

/**
 * An append no adapter may write: a caller's bug, never a race, so it is not retried and maps
 * to a 5xx. Thrown before anything is sent or written, by every adapter alike (checkAppend).
 */
export class InvalidAppend extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAppend';
  }
}

/**
 * The shape rules every adapter enforces before it writes, so that a rule only one server has
 * (KurrentDB's multi-stream append) cannot first show up in production.
 */
export function checkAppend(writes: readonly StreamWrite[]): void {
  if (writes.length === 0) throw new InvalidAppend('an append needs at least one stream write');
  const seen = new Set<string>();
  for (const write of writes) {
    // KurrentDB compares stream names case-insensitively when it looks for a repeated stream.
    const key = write.stream.toLowerCase();
    if (seen.has(key)) throw new InvalidAppend(`stream ${write.stream} appears twice in one append (names compare case-insensitively)`);
    seen.add(key);
    if (write.events.length === 0) throw new InvalidAppend(`the write to ${write.stream} has no events`);
    const bad = write.events.find((event) => !EVENT_TYPE_PATTERN.test(event.type));
    if (bad) throw new InvalidAppend(`event type ${JSON.stringify(bad.type)} on ${write.stream} does not match ${EVENT_TYPE_PATTERN}`);
  }
}

/**
 * The revisions the duplicate rule looks at for a write: those the append would give its
 * events (after the expected revision), or for 'any' the stream's last ones. `current` is the
 * stream's revision, null when it does not exist.
 */
export function slotsOf(write: StreamWrite, current: bigint | null): { readonly from: bigint; readonly count: number } {
  const count = write.events.length;
  if (write.expectedRevision === 'no_stream') return { from: 0n, count };
  if (write.expectedRevision !== 'any') return { from: write.expectedRevision + 1n, count };
  return { from: (current ?? -1n) + 1n - BigInt(count), count };
}

/** What the duplicate rule makes of an append: write it, answer the original result, or refuse `write` as a partial replay. */
export type Replay =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'replay'; readonly result: AppendResult }
  | { readonly kind: 'partial'; readonly write: StreamWrite };

/**
 * Applies the duplicate rule to what each write's slots hold (`found[i][j]`: the event at the
 * slot of write i's event j, if any).
 */
export function judgeReplay(
  writes: readonly StreamWrite[],
  found: readonly (readonly (Pick<StoredEvent, 'id' | 'revision' | 'position'> | undefined)[])[],
): Replay {
  // KurrentDB hands ids back in its own spelling of the UUID.
  const present = writes.map((write, i) => write.events.map((event, j) => found[i][j]?.id.toLowerCase() === event.id.toLowerCase()));
  if (!present.every((write) => write.every(Boolean))) {
    const partial = present.findIndex((write) => write.some(Boolean));
    return partial === -1 ? { kind: 'fresh' } : { kind: 'partial', write: writes[partial] };
  }
  const revisions = new Map<string, bigint>();
  let position = '';
  writes.forEach((write, i) => {
    revisions.set(write.stream, found[i][write.events.length - 1]!.revision);
    for (const event of found[i]) if (event!.position > position) position = event!.position;
  });
  return { kind: 'replay', result: { position, revisions, duplicate: true } };
}

export interface EventStore {
  readonly adapterName: string;
  /** Events of one stream in revision order, starting at `fromRevision` (inclusive), at most `limit` of them (all when absent). */
  readStream(stream: string, fromRevision?: bigint, limit?: number): Promise<StoredEvent[]>;
  /**
   * Up to `limit` events of one stream, newest first, each with a revision below `before` (null:
   * from the stream's last event on): an aggregate's own history, a page at a time.
   */
  readStreamBackward(stream: string, before: bigint | null, limit: number): Promise<StoredEvent[]>;
  /**
   * Atomic across every write: either all events of all streams are written, or none is and a
   * ConcurrencyConflict names the first stream whose revision did not match. An append that
   * breaks checkAppend's rules is refused with InvalidAppend before anything is written.
   *
   * The duplicate rule, the same on every adapter: an event is present when its write's stream
   * holds an event with its id at the revision this append would give it (see slotsOf), and an
   * append whose every event is present writes nothing and answers the original result with
   * `duplicate: true`, while one where only some are is a ConcurrencyConflict on the first write
   * holding a present event.
   *
   * An id present anywhere else in the log is a caller's bug (ids are unique in the log) that
   * adapters need not detect; the command handler's request guard stream is what keeps a
   * re-decided retry from sending its ids at new revisions.
   */
  append(writes: readonly StreamWrite[]): Promise<AppendResult>;
  /** Up to `limit` events of the global log strictly after `after` (null: from the start). */
  readAll(after: string | null, limit: number): Promise<StoredEvent[]>;
  /** Position of the newest event in the log, or null when the log is empty. */
  headPosition(): Promise<string | null>;
  /**
   * How many events lie after `after` (null: the whole log), counted up to `limit`: an answer of
   * `limit` means at least that many. SQLite and PostgreSQL count without reading the events (a
   * subtraction over dense positions, a count of primary-key entries); KurrentDB reads them.
   */
  countAfter(after: string | null, limit: number): Promise<number>;
  /**
   * Calls `listener` whenever new events may be in the log (in-process commits at least).
   * A hint only: followers still poll, so a missed call only delays them.
   */
  onAppended(listener: () => void): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Positions are fixed-width decimal strings: this width fits any 64-bit number. */
export const POSITION_WIDTH = 20;
export const formatPosition = (n: bigint | number): string => n.toString().padStart(POSITION_WIDTH, '0');
