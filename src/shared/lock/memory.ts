import { Lease, LockOptions, LockService } from './port';

export const DEFAULT_LEASE_MS = 5_000;
export const DEFAULT_WAIT_MS = 2_000;

/** Running without the lock holds nothing to fence with; 0 is below every real token. */
export const UNLOCKED: Lease = { fencingToken: 0, acquired: false };

interface Queue {
  /** Settles when the last waiter in line gives its turn away. */
  tail: Promise<void>;
  /** Callers that have joined and not yet finished; the entry is dropped at 0. */
  users: number;
}

/** Resolves true when `turn` settles within `ms`, false otherwise. */
function within(turn: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void turn.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Keyed locks inside one process: each key is a FIFO chain of promises, each caller waiting for
 * the one before it. A caller that waits longer than `waitMs` runs unlocked (a conflict and a
 * retry are cheaper than a stall); a holder that outlives `leaseMs` lets the next one in.
 */
export class InProcessLockService implements LockService {
  readonly adapterName = 'in-process';
  private readonly queues = new Map<string, Queue>();
  /**
   * One counter for all keys: it is strictly increasing per key as the port asks, and it survives
   * a key's queue being dropped when it drains (a per-key counter would restart at 1).
   */
  private lastToken = 0;

  /** Keys with callers waiting or running (drained keys are forgotten). */
  get activeKeys(): number {
    return this.queues.size;
  }

  async withLock<T>(key: string, fn: (lease: Lease) => Promise<T>, options: LockOptions = {}): Promise<T> {
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    let queue = this.queues.get(key);
    const first = !queue;
    if (!queue) this.queues.set(key, (queue = { tail: Promise.resolve(), users: 0 }));
    const previous = queue.tail;
    let release!: () => void;
    queue.tail = new Promise<void>((resolve) => (release = resolve));
    queue.users++;
    try {
      // Nobody ahead: no wait to bound, so no timer (the uncontended case is the common one).
      if (!first && !(await within(previous, waitMs))) {
        // Hand our turn on as soon as it comes, so the callers behind us keep their place.
        void previous.then(release);
        return await fn(UNLOCKED);
      }
      const lease = setTimeout(release, leaseMs);
      try {
        return await fn({ fencingToken: ++this.lastToken, acquired: true });
      } finally {
        clearTimeout(lease);
        release();
      }
    } finally {
      if (--queue.users === 0) this.queues.delete(key);
    }
  }

  async close(): Promise<void> {}
}
