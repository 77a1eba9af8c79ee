import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DEFAULT_LEASE_MS, DEFAULT_WAIT_MS, InProcessLockService, UNLOCKED } from './memory';
import { Lease, LockOptions, LockService } from './port';

// Taking the lock and drawing its token in one step: done apart, a holder whose lease ran out
// between the two could draw a larger token than the holder after it.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false`;

// Only the holder's own value deletes: a holder whose lease expired must not free its successor.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

const MAX_BACKOFF_MS = 50;
/** Even a caller whose wait is all but spent gets one fair attempt at a healthy Redis. */
const MIN_ATTEMPT_MS = 50;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Held {
  readonly owner: string;
  readonly token: number;
}

/**
 * Keyed locks shared by every app instance: `SET NX PX` with a random owner value, a fencing
 * token from `INCR` on a companion key (kept forever so tokens never restart), waiting by polling
 * with jittered backoff. Same-key callers of this instance first queue locally, so only the head
 * of each local queue polls Redis. When Redis fails or the wait runs out, `fn` runs unlocked and
 * says so through `acquired: false`.
 *
 * The client belongs to the caller (it is usually shared by several adapters): `close` leaves it open.
 */
export class RedisLockService implements LockService {
  readonly adapterName = 'redis';
  private readonly local = new InProcessLockService();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async withLock<T>(key: string, fn: (lease: Lease) => Promise<T>, options: LockOptions = {}): Promise<T> {
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + waitMs;
    return this.local.withLock(
      key,
      async (local) => {
        const held = local.acquired ? await this.acquire(key, leaseMs, deadline) : undefined;
        if (!held) return fn(UNLOCKED);
        try {
          return await fn({ fencingToken: held.token, acquired: true });
        } finally {
          await this.release(key, held.owner);
        }
      },
      { leaseMs, waitMs },
    );
  }

  async close(): Promise<void> {}

  private keys(key: string): [string, string] {
    // One hash tag for both keys keeps the script on one slot under Redis Cluster.
    const lock = `${this.prefix}{${key}}`;
    return [lock, `${lock}:fence`];
  }

  private async acquire(key: string, leaseMs: number, deadline: number): Promise<Held | undefined> {
    const owner = randomUUID();
    for (let attempt = 0; ; attempt++) {
      let token: number | null;
      try {
        token = await this.tryAcquire(key, owner, leaseMs, Math.max(deadline - Date.now(), MIN_ATTEMPT_MS));
      } catch {
        return undefined;
      }
      if (token !== null) return { owner, token };
      const remaining = deadline - Date.now();
      if (remaining <= 0) return undefined;
      await sleep(Math.min(remaining, Math.min(MAX_BACKOFF_MS, 2 ** attempt) * (0.5 + Math.random())));
    }
  }

  /**
   * One SET attempt, bounded in time: a client that queues commands while Redis is away would
   * otherwise stall us far past `waitMs`. A lock won too late is given straight back.
   */
  private async tryAcquire(key: string, owner: string, leaseMs: number, timeoutMs: number): Promise<number | null> {
    const px = Math.max(1, Math.ceil(leaseMs));
    const reply = this.redis.eval(ACQUIRE, 2, ...this.keys(key), owner, px) as Promise<number | null>;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('lock attempt timed out')), timeoutMs);
    });
    try {
      return await Promise.race([reply, late]);
    } catch (error) {
      void reply.then(
        (token) => (token === null ? undefined : this.release(key, owner)),
        () => undefined,
      );
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async release(key: string, owner: string): Promise<void> {
    try {
      await this.redis.eval(RELEASE, 1, this.keys(key)[0], owner);
    } catch {
      // The lease expires on its own; the caller's result matters more than a failed release.
    }
  }
}
