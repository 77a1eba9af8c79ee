/**
 * Aggregate snapshots: a cache of folded states beside the event log, never a source of truth.
 * Any of them may be lost or thrown away (delete snapshots.db) and is rebuilt from the log; one
 * the log does not confirm is ignored (see AggregateSnapshots).
 */
export interface Snapshot {
  readonly stream: string;
  /** The decider and codec that wrote it (codec.ts fingerprintOf): any other reader ignores it. */
  readonly fingerprint: string;
  /** Revision of the last event folded into `state`. */
  readonly revision: bigint;
  /** Id of that event: a log holding another event at that revision is not the one it came from. */
  readonly eventId: string;
  /** codec.ts encodeState. */
  readonly state: Buffer;
}

export interface SnapshotStore {
  readonly adapterName: string;
  read(stream: string): Promise<Snapshot | null>;
  /** Keeps one per stream: replaces an older revision or another fingerprint, never a newer revision of the same. */
  write(snapshot: Snapshot): Promise<void>;
  delete(stream: string): Promise<void>;
  close(): Promise<void>;
}
