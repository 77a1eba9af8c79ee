/**
 * Keyed locks that make hot keys queue instead of storming the event store with conflicts.
 * They only reduce retries: the expected revision on append stays the correctness guard, so a
 * lock that expires under a slow holder can cost a retry but never let a wrong write through.
 */
export interface LockOptions {
  /** How long the lock is held at most if its holder dies. */
  readonly leaseMs?: number;
  /** How long to wait for the lock before running without it. */
  readonly waitMs?: number;
}

export interface Lease {
  /** Strictly increasing per key across every instance: a later holder has a larger token. */
  readonly fencingToken: number;
  /** False when the lock could not be had in time (or its backend is down) and `fn` ran unlocked. */
  readonly acquired: boolean;
}

export interface LockService {
  readonly adapterName: string;
  withLock<T>(key: string, fn: (lease: Lease) => Promise<T>, options?: LockOptions): Promise<T>;
  close(): Promise<void>;
}
