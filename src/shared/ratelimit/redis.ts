import type { Redis } from 'ioredis';
import { RateLimiter, WindowCount } from './port';

// One script, so the count and the window's expiry are set together: a counter can never be
// left without an expiry (it would count for ever), and concurrent hits each see their own count.
const HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/**
 * Counters shared by every instance: one Redis key per limited key and window, expired by Redis
 * when the window ends. Windows are timed by the Redis server's clock alone, so instances with
 * skewed clocks still agree. The client belongs to the caller: `close` leaves it open.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly adapterName = 'redis';
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const [count, resetInMs] = (await this.redis.eval(HIT, 1, `${this.prefix}${key}`, Math.max(1, Math.ceil(windowMs)))) as [number, number];
    return { count, resetInMs };
  }

  async close(): Promise<void> {}
}
