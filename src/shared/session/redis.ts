import type { Redis } from 'ioredis';
import { SessionPositions } from './port';

// Positions compare as plain strings (src/shared/eventstore/port.ts): keep the later one, and restart the
// TTL either way, since the user has just written.
const RECORD = `
local current = redis.call('GET', KEYS[1])
if current and current > ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])`;

/**
 * Positions shared by every instance, one key per user with a TTL. A read costs one GET, which
 * the client's auto-pipelining sends together with the other commands of the same tick.
 * The client belongs to the caller: `close` leaves it open.
 */
export class RedisSessionPositions implements SessionPositions {
  readonly adapterName = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  async record(userId: string, position: string): Promise<void> {
    await this.redis.eval(RECORD, 1, this.prefix + userId, position, Math.max(1, Math.ceil(this.ttlMs)));
  }

  latest(userId: string): Promise<string | null> {
    return this.redis.get(this.prefix + userId);
  }

  async close(): Promise<void> {}
}
