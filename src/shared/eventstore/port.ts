/**
 * The event log: the only source of truth (ARCHITECTURE.md principle 1).
 *
 * Revisions count events in one stream from 0. Positions order the whole log; they are opaque
 * strings that compare correctly as plain strings (adapters zero-pad their numbers), so a
 * client can hand one back in `X-Consistent-With` and we can compare without parsing.
 */
export type ExpectedRevision = 'no_stream' | 'any' | bigint;

export type JsonObject = { readonly [key: string]: unknown };

export interface NewEvent {
  /** Deterministic where a retry could repeat the write, so the store can refuse to write it twice. */
  readonly id: string;
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
  /** True when every event id was already in the log: nothing new was written. */
  readonly duplicate: boolean;
}

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

export interface EventStore {
  readonly adapterName: string;
  /** Events of one stream in revision order, starting at `fromRevision` (inclusive). */
  readStream(stream: string, fromRevision?: bigint): Promise<StoredEvent[]>;
  /**
   * Atomic across every write: either all events of all streams are written, or none is and a
   * ConcurrencyConflict names the first stream whose revision did not match.
   * An append whose every event id is already in the log writes nothing and reports the
   * original result with `duplicate: true`.
   */
  append(writes: readonly StreamWrite[]): Promise<AppendResult>;
  /** Up to `limit` events of the global log strictly after `after` (null: from the start). */
  readAll(after: string | null, limit: number): Promise<StoredEvent[]>;
  /** Position of the newest event in the log, or null when the log is empty. */
  headPosition(): Promise<string | null>;
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
