import { RedisRateLimiter } from '../../src/shared/ratelimit/redis';
import { twoRedisClients } from '../support/redis';
import { rateLimiterContract } from './ratelimit.contract';

describe('RedisRateLimiter, two app instances on one Redis', () => {
  const { clients, newPrefix } = twoRedisClients('ratelimit');

  rateLimiterContract(async () => {
    const prefix = newPrefix();
    const [admin] = clients();
    return {
      limiters: clients().map((client) => new RedisRateLimiter(client, prefix)),
      // Time passing, as Redis sees it: every window under the prefix is that much shorter.
      passTime: async (ms) => {
        const keys = await admin.keys(`${prefix}*`);
        for (const key of keys) {
          const left = (await admin.pttl(key)) - ms;
          if (left > 0) await admin.pexpire(key, left);
          else await admin.del(key);
        }
      },
    };
  });
});
