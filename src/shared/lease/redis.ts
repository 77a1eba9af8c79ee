import type { Redis } from 'ioredis';
import { LeaseGrant, LeaseService } from './port';

// Taking the lease and drawing its token in one step, so a later holder always draws a larger
// token; the holder asking again keeps its token and gets a fresh expiry. ARGV[3], when not
// empty, is the owner prefix of this runner's earlier lives: their lease is taken at once.
// ARGV[4] is the token every draw must exceed (the fence a store holds, which outlives a Redis
// that restarted empty and counts from 1 again).
const ACQUIRE = `
local above = tonumber(ARGV[4])
local function draw()
  local token = redis.call('INCR', KEYS[2])
  if token <= above then
    token = above + 1
    redis.call('SET', KEYS[2], token)
  end
  return token
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return draw()
end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  local token = tonumber(redis.call('GET', KEYS[2])) or 0
  if token <= above then return draw() end
  return token
end
if ARGV[3] ~= '' and holder and string.sub(holder, 1, string.len(ARGV[3])) == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return draw()
end
return false`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

// Compare-and-delete: a holder whose lease lapsed must not free its successor's.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * Leases shared by every process: `SET NX PX` with the owner as value, renewed and released only
 * by that owner (one script each), and a fencing token from `INCR` on a companion key that is
 * never expired. Failures are thrown: the caller decides what an unreachable Redis means.
 *
 * The client belongs to the caller (other adapters share it): `close` leaves it open.
 */
export class RedisLeaseService implements LeaseService {
  readonly adapterName = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async acquire(name: string, owner: string, ttlMs: number, takeOverFrom?: string, above = 0): Promise<LeaseGrant | null> {
    const token = (await this.redis.eval(ACQUIRE, 2, ...this.keys(name), owner, px(ttlMs), takeOverFrom ?? '', String(above))) as number | null;
    return token === null ? null : { fencingToken: token };
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.keys(name)[0], owner, px(ttlMs))) === 1;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys(name)[0], owner);
  }

  async close(): Promise<void> {}

  /** The lease and its token counter share a hash tag: one Redis Cluster slot for the scripts. */
  keys(name: string): [string, string] {
    const lease = `${this.prefix}{${name}}`;
    return [lease, `${lease}:fence`];
  }
}

const px = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs));
