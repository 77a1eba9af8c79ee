/**
 * Where each user's own writes stand in the global log: read-your-writes across instances.
 * A successful write records its position under the writer's id before it is answered; a read
 * by that user waits until the projections it reads have passed the recorded position. An entry
 * lives `ttlMs` after the user's last write: long past any healthy projection lag, after which
 * the user's writes are old enough to be in every read model anyway.
 */
export interface SessionPositions {
  readonly adapterName: string;
  /** Keeps the later of `position` and the one already recorded (writes answered out of order). */
  record(userId: string, position: string): Promise<void>;
  /** The latest recorded position of the user's writes, or null when none is recent. */
  latest(userId: string): Promise<string | null>;
  close(): Promise<void>;
}
