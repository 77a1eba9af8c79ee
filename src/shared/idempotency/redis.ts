import type { Redis } from 'ioredis';
import { Claim, IdempotencyStore, StoredResponse } from './port';

// One script so that reading the record and claiming it cannot interleave with another claim.
// A different fingerprint is checked first: the same key with another body is refused as a
// reuse even while the first request is still running.
const CLAIM = `
local record = redis.call('HMGET', KEYS[1], 'fingerprint', 'state', 'response')
if not record[1] then
  redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'state', 'in_flight')
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'claimed'}
end
if record[1] ~= ARGV[1] then return {'mismatch'} end
if record[2] == 'done' then return {'replay', record[3]} end
return {'in_flight'}`;

// Absent (our claim expired) or our body's running claim: keep the response; another body's
// claim, or a response already kept: leave it. Reading and writing in one script keeps them atomic.
const COMPLETE = `
local record = redis.call('HMGET', KEYS[1], 'fingerprint', 'state')
if record[1] and (record[1] ~= ARGV[1] or record[2] ~= 'in_flight') then return 0 end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'state', 'done', 'response', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

// Only our body's running claim is freed: never another body's claim nor a kept response.
const RELEASE = `
local record = redis.call('HMGET', KEYS[1], 'fingerprint', 'state')
if record[1] == ARGV[1] and record[2] == 'in_flight' then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * Idempotency records in Redis: one hash per user and key, expired by Redis itself (`PEXPIRE`
 * with `inFlightMs` while running, `ttlMs` once done), so nothing needs purging.
 *
 * `complete` and `release` check the record's fingerprint and state in the same Lua script that
 * writes it. The client belongs to the caller: `close` leaves it open.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly adapterName = 'redis';
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async claim(scope: string, key: string, fingerprint: string, inFlightMs: number): Promise<Claim> {
    const [outcome, response] = (await this.redis.eval(
      CLAIM,
      1,
      this.key(scope, key),
      fingerprint,
      Math.max(1, Math.ceil(inFlightMs)),
    )) as [Claim['outcome'], string?];
    if (outcome === 'replay') return { outcome, response: JSON.parse(response ?? 'null') as StoredResponse };
    return { outcome };
  }

  async complete(
    scope: string,
    key: string,
    fingerprint: string,
    response: StoredResponse,
    ttlMs: number,
  ): Promise<void> {
    await this.redis.eval(
      COMPLETE,
      1,
      this.key(scope, key),
      fingerprint,
      JSON.stringify(response),
      Math.max(1, Math.ceil(ttlMs)),
    );
  }

  async release(scope: string, key: string, fingerprint: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(scope, key), fingerprint);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {}

  /** The scope's length comes first so that no (scope, key) pair can spell another one's key. */
  private key(scope: string, key: string): string {
    return `${this.prefix}${scope.length}:${scope}:${key}`;
  }
}
