import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Admission, CouponGate, DEFAULT_ADMISSION_LEASE_MS, GateOptions, GateSnapshot } from './port';

// One sorted set per coupon, <prefix>{<couponId>}, so that a coupon's gate is lost (flushed,
// evicted) or kept whole, never in part:
//   '#quantity'  scored -totalQuantity; its presence means "seeded"
//   '#soldout'   scored +inf, once the store said none are left
//   <userId>     scored +inf for a holder, or the end of its admission lease (ms) while admitted
// User ids never start with '#' (userIdSchema). Places taken = members - '#quantity', and
// ZREMRANGEBYSCORE 0..now drops exactly the lapsed leases.

// Reading and taking the place in one script: done apart, two requests could take the last place.
const ADMIT = `
local quantity = redis.call('ZSCORE', KEYS[1], '#quantity')
if not quantity then return 'unknown' end
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'already_issued' end
if redis.call('ZSCORE', KEYS[1], '#soldout') then return 'sold_out' end
if redis.call('ZCARD', KEYS[1]) - 1 >= -tonumber(quantity) then return 'sold_out' end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 'admitted'`;

// Only the first seed counts: a later one read the log no later, and the gate already holds
// admissions the log does not show yet. The holders were staged under a temporary key (too
// many for one call's arguments) and are renamed into place.
const SEED = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[2])
  return 0
end
redis.call('ZADD', KEYS[2], -tonumber(ARGV[1]), '#quantity')
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('PERSIST', KEYS[1])
return 1`;

const FREE_ADMITTED = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and score ~= 'inf' then redis.call('ZREM', KEYS[1], ARGV[1]) end`;

// On a gate that is not seeded, writing would create one that admits nobody knows how many.
const CONFIRM = `
if not redis.call('ZSCORE', KEYS[1], '#quantity') then return 0 end
redis.call('ZADD', KEYS[1], 'inf', ARGV[1])
return 1`;

const SOLD_OUT = `
if not redis.call('ZSCORE', KEYS[1], '#quantity') then return 0 end
redis.call('ZADD', KEYS[1], 'inf', '#soldout')
${FREE_ADMITTED}
return 1`;

const SEED_CHUNK = 5_000;
/** A seed that dies half-way leaves its staging key behind for at most this long. */
const STAGING_TTL_MS = 60_000;

/**
 * The gate shared by every app instance, one Lua script per step. The client belongs to the
 * caller (other adapters share it): `close` leaves it open.
 */
export class RedisCouponGate implements CouponGate {
  readonly adapterName = 'redis';
  private readonly leaseMs: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: GateOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_ADMISSION_LEASE_MS;
    this.now = options.now ?? Date.now;
  }

  async admit(couponId: string, userId: string): Promise<Admission> {
    const now = this.now();
    return (await this.redis.eval(ADMIT, 1, this.key(couponId), userId, now, now + this.leaseMs)) as Admission;
  }

  async seed(couponId: string, snapshot: GateSnapshot): Promise<void> {
    const key = this.key(couponId);
    // Staging a million holders only to throw them away would be a waste: most callers arrive late.
    if ((await this.redis.exists(key)) === 1) return;
    // The same hash tag as the gate: RENAME needs both on one Redis Cluster slot.
    const staging = `${key}:seed:${randomUUID()}`;
    let chunk: string[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      const replies = await this.redis
        .multi()
        .zadd(staging, ...chunk.flatMap((userId) => ['inf', userId]))
        .pexpire(staging, STAGING_TTL_MS)
        .exec();
      const failed = replies?.find(([error]) => error);
      if (failed) throw failed[0];
      chunk = [];
    };
    for (const userId of snapshot.holders) {
      chunk.push(userId);
      if (chunk.length >= SEED_CHUNK) await flush();
    }
    await flush();
    await this.redis.eval(SEED, 2, key, staging, snapshot.totalQuantity);
  }

  async confirm(couponId: string, userId: string): Promise<void> {
    await this.redis.eval(CONFIRM, 1, this.key(couponId), userId);
  }

  async release(couponId: string, userId: string): Promise<void> {
    await this.redis.eval(FREE_ADMITTED, 1, this.key(couponId), userId);
  }

  async markSoldOut(couponId: string, userId: string): Promise<void> {
    await this.redis.eval(SOLD_OUT, 1, this.key(couponId), userId);
  }

  async close(): Promise<void> {}

  private key(couponId: string): string {
    return `${this.prefix}{${couponId}}`;
  }
}
