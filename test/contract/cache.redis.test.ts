import { Redis } from 'ioredis';
import { twoRedisClients } from '../support/redis';
import { RedisCache } from '../../src/shared/cache/redis';
import { cacheContract } from './cache.contract';
import { nearCacheOn, nextSubscriber } from './cache.redis.support';

describe('RedisCache, two app instances on one Redis', () => {
  // Two clients per test, as two app instances would have.
  const { clients, newPrefix } = twoRedisClients('cache');
  afterEach(() => jest.restoreAllMocks());

  describe('answering from Redis alone, as before its subscription is confirmed', () => {
    cacheContract(async () => {
      const prefix = newPrefix();
      return clients().map((client) => {
        nextSubscriber(client, { connected: false });
        return new RedisCache(client, prefix);
      });
    });
  });

  describe('with its near cache on', () => {
    cacheContract(async () => {
      const prefix = newPrefix();
      const caches = clients().map((client) => new RedisCache(client, prefix));
      await Promise.all(caches.map((cache, i) => nearCacheOn(cache, clients()[i], prefix)));
      return caches;
    });
  });

  it('keeps every key under its prefix, each entry with a TTL', async () => {
    const prefix = newPrefix();
    const cache = new RedisCache(clients()[0], prefix);
    try {
      await cache.set('a', 1, 60_000);
      await cache.getOrLoad('b', 60_000, async () => 2);
      await cache.invalidate({ keys: ['c'] });
      await cache.invalidate({ versions: ['list'] });
      const keys = (await clients()[0].keys(`${prefix}*`)).sort();
      expect(keys).toEqual([`${prefix}entry:a`, `${prefix}entry:b`, `${prefix}entry:c`, `${prefix}version:list`]);
      for (const entry of keys.filter((k) => k.includes(':entry:'))) {
        const ttl = await clients()[0].pttl(entry);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
    } finally {
      await cache.close();
    }
  });

  // Nothing listens on port 1; disconnectTimeout keeps ioredis from holding jest open.
  const unreachable = { host: '127.0.0.1', port: 1, disconnectTimeout: 10, enableOfflineQueue: false, maxRetriesPerRequest: 0 };

  it('falls through to the loader when Redis is unreachable, and reports failed invalidations', async () => {
    const down = new Redis(unreachable);
    down.on('error', () => undefined);
    const failures: unknown[] = [];
    const cache = new RedisCache(down, 'test:cache:down:', (error) => failures.push(error));
    try {
      let loads = 0;
      const load = async () => ++loads;
      expect(await cache.getOrLoad('k', 60_000, load)).toBe(1);
      expect(await cache.getOrLoad('k', 60_000, load)).toBe(2);
      expect(await cache.get('k')).toBeUndefined();
      expect(await cache.version('list')).toBeNull();
      await cache.set('k', 1, 60_000);
      await cache.invalidate({ keys: ['k'] });
      await cache.invalidate({ keys: ['k'], versions: ['list'] });
      expect(failures).toHaveLength(2);
    } finally {
      await cache.close();
      down.disconnect();
    }
  });
});
