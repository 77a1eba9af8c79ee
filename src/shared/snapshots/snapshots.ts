import type { Decider, DomainEvent } from '../domain/decider';
import { decodeState, encodeState, fingerprintOf } from './codec';
import type { SnapshotStore } from './port';

export interface Restored<S> {
  readonly state: S;
  readonly revision: bigint;
  /** The command handler reads the log from `revision` and uses the state only if this id is there. */
  readonly eventId: string;
}

type AnyDecider = Decider<never, DomainEvent, unknown>;

/**
 * When to take a snapshot and how to read one back, for the command handler's cold loads: a
 * stream is snapshotted once `every` events have passed since its last snapshot, so a cold load
 * folds at most that many events after decoding one state, however long the stream has grown.
 * A stream shorter than `every` never gets one.
 */
export class AggregateSnapshots {
  /** Revision of the newest snapshot known per stream; only streams that have one. */
  private readonly taken = new Map<string, bigint>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: SnapshotStore,
    /** A stream gets a snapshot every this many events; a shorter one never has one. */
    readonly every: number,
    private readonly onError: (error: unknown, stream: string) => void,
  ) {}

  get adapterName(): string {
    return this.store.adapterName;
  }

  /** The stream's snapshot if this decider wrote it, decoded; null when there is none it can use. */
  async restore<S>(decider: Decider<never, DomainEvent, S>, stream: string): Promise<Restored<S> | null> {
    const snapshot = await this.store.read(stream);
    if (snapshot === null || snapshot.fingerprint !== fingerprintOf(decider as AnyDecider)) return null;
    try {
      const state = decodeState<S>(snapshot.state);
      this.taken.set(stream, snapshot.revision);
      return { state, revision: snapshot.revision, eventId: snapshot.eventId };
    } catch (error) {
      this.onError(error, stream);
      return null;
    }
  }

  /** The log does not hold the snapshot's event: it belongs to another log and is dropped. */
  async reject(stream: string): Promise<void> {
    this.taken.delete(stream);
    await this.store.delete(stream);
  }

  /**
   * Every state the command handler has folded or decided passes here with the revision and
   * id of its last event. Encoding a long state takes milliseconds, so it runs after the current
   * request has been answered; states are immutable, so the one handed over cannot change meanwhile.
   */
  offer<S>(decider: Decider<never, DomainEvent, S>, stream: string, state: S, revision: bigint, eventId: string): void {
    if (revision - (this.taken.get(stream) ?? -1n) < BigInt(this.every)) return;
    this.taken.set(stream, revision);
    const fingerprint = fingerprintOf(decider as AnyDecider);
    const write = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.store.write({ stream, fingerprint, revision, eventId, state: encodeState(state) }))
      .catch((error: unknown) => this.onError(error, stream))
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Waits for the snapshots still being written, then closes the store. */
  async close(): Promise<void> {
    await Promise.all(this.pending);
    await this.store.close();
  }
}
