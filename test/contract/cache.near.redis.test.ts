import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { RedisCache } from '../../src/shared/cache/redis';
import { eventually } from '../support/eventually';
import { twoRedisClients } from '../support/redis';
import { announced, answersLocally, changeUnannounced, holdNextReply, nearCacheOn, nextSubscriber } from './cache.redis.support';

const LONG = 60_000;

interface Instance {
  readonly cache: RedisCache;
  readonly redis: Redis;
  readonly subscriber: Redis;
}

describe('RedisCache near cache, two app instances on one Redis', () => {
  const { clients, newPrefix } = twoRedisClients('cache-near');
  let prefix: string;
  let key: string;
  let opened: RedisCache[] = [];

  beforeEach(() => {
    prefix = newPrefix();
    key = `k-${randomUUID()}`;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((cache) => cache.close()));
    jest.restoreAllMocks();
  });

  function instance(redis: Redis, options: { connected?: boolean } = {}): Instance {
    const subscriber = nextSubscriber(redis, options);
    const cache = new RedisCache(redis, prefix);
    opened.push(cache);
    return { cache, redis, subscriber: subscriber() };
  }

  /** Instances `a` and `b`, on separate clients, both with their near cache on. */
  async function twoInstances(): Promise<[Instance, Instance]> {
    const [a, b] = clients().map((redis) => instance(redis));
    await Promise.all([a, b].map(({ cache, redis }) => nearCacheOn(cache, redis, prefix)));
    return [a, b];
  }

  /** Instance `a` with its near cache on, holding `key` and version `list` (0). */
  async function oneInstanceHolding(): Promise<Instance> {
    const [a] = await twoInstances();
    await a.cache.getOrLoad(key, LONG, async () => 'kept');
    expect(await a.cache.version('list')).toBe(0);
    await changeUnannounced(a.redis, prefix, key, 'changed unannounced');
    await a.redis.incr(`${prefix}version:list`);
    expect(await a.cache.get(key)).toBe('kept');
    expect(await a.cache.version('list')).toBe(0);
    return a;
  }

  describe('is on only while subscribed to invalidations', () => {
    it('answers from Redis alone until its subscription is confirmed', async () => {
      const a = instance(clients()[0], { connected: false });
      expect(await answersLocally(a.cache, a.redis, prefix)).toBe(false);
      expect(await a.cache.version('list')).toBe(0);
      await a.redis.incr(`${prefix}version:list`);
      expect(await a.cache.version('list')).toBe(1);

      const subscribing = holdNextReply(a.subscriber, 'subscribe');
      await a.subscriber.connect();
      await subscribing.replied;
      expect(await answersLocally(a.cache, a.redis, prefix)).toBe(false);
      subscribing.release();
      await nearCacheOn(a.cache, a.redis, prefix);
    });

    it('forgets everything and answers from Redis while disconnected, until subscribed again', async () => {
      const a = await oneInstanceHolding();
      const ended = once(a.subscriber, 'end');
      a.subscriber.disconnect();
      await ended;

      expect(await a.cache.get(key)).toBe('changed unannounced');
      expect(await a.cache.version('list')).toBe(1);
      expect(await answersLocally(a.cache, a.redis, prefix)).toBe(false);

      await a.subscriber.connect();
      await nearCacheOn(a.cache, a.redis, prefix);
      expect(await a.cache.get(key)).toBe('changed unannounced');
    });

    it('forgets everything when its connection is cut, and trusts itself again once resubscribed', async () => {
      const a = await oneInstanceHolding();
      const closed = once(a.subscriber, 'close');
      const { localAddress, localPort } = a.subscriber.stream;
      await a.redis.call('CLIENT', 'KILL', 'ADDR', `${localAddress}:${localPort}`);
      await closed;

      await nearCacheOn(a.cache, a.redis, prefix);
      expect(await a.cache.get(key)).toBe('changed unannounced');
      expect(await a.cache.version('list')).toBe(1);
    });

    it('forgets everything on an error, and trusts itself again once its subscription is confirmed again', async () => {
      const a = await oneInstanceHolding();
      a.subscriber.emit('error', new Error('lost track of the connection'));

      expect(await a.cache.get(key)).toBe('changed unannounced');
      expect(await a.cache.version('list')).toBe(1);
      await nearCacheOn(a.cache, a.redis, prefix);
    });
  });

  describe('peek', () => {
    it('answers what this instance holds while on, and nothing once another instance changed it or the subscription lapsed', async () => {
      const [a, b] = await twoInstances();
      expect(a.cache.peek(key)).toBeUndefined();
      await a.cache.getOrLoad(key, LONG, async () => ({ n: 1 }));
      expect(await a.cache.version('list')).toBe(0);
      expect(a.cache.peek(key)).toEqual({ value: { n: 1 } });
      expect(a.cache.peekVersion('list')).toBe(0);

      const heard = announced(a.subscriber, `${prefix}entry:${key}`);
      await b.cache.invalidate({ keys: [key] });
      await heard;
      expect(a.cache.peek(key)).toBeUndefined();

      await a.cache.getOrLoad(key, LONG, async () => ({ n: 2 }));
      expect(a.cache.peek(key)).toEqual({ value: { n: 2 } });
      a.subscriber.emit('error', new Error('lost track of the connection'));
      expect(a.cache.peek(key)).toBeUndefined();
      expect(a.cache.peekVersion('list')).toBeUndefined();
    });
  });

  describe('keeps nothing a change may have overtaken', () => {
    it('does not keep a value whose read was answered after a change to it was announced', async () => {
      const [a, b] = await twoInstances();
      await changeUnannounced(a.redis, prefix, key, 'before');
      const held = holdNextReply(b.redis, 'get');
      const reading = b.cache.getOrLoad(key, LONG, async () => 'not loaded');
      await held.replied;
      const heard = announced(b.subscriber, `${prefix}entry:${key}`);
      await a.cache.invalidate({ keys: [key] });
      await heard;
      held.release();

      expect(await reading).toBe('before');
      expect(await b.cache.get(key)).toBeUndefined();
    });

    it('does not keep a version whose read was answered after a bump was announced', async () => {
      const [a, b] = await twoInstances();
      const held = holdNextReply(b.redis, 'get');
      const reading = b.cache.version('list');
      await held.replied;
      const heard = announced(b.subscriber, `${prefix}version:list`);
      await a.cache.invalidate({ versions: ['list'] });
      await heard;
      held.release();

      expect(await reading).toBe(0);
      expect(await b.cache.version('list')).toBe(1);
    });

    it('does not keep a load whose store was answered after a change to it was announced', async () => {
      const [a, b] = await twoInstances();
      const held = holdNextReply(b.redis, 'eval');
      const loading = b.cache.getOrLoad(key, LONG, async () => 'loaded');
      await held.replied;
      const heard = announced(b.subscriber, `${prefix}entry:${key}`);
      await a.cache.invalidate({ keys: [key] });
      await heard;
      held.release();

      expect(await loading).toBe('loaded');
      expect(await b.cache.get(key)).toBeUndefined();
    });

    it('does not keep a load that Redis declined to store, even before the change is announced', async () => {
      const [a, b] = await twoInstances();
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const hasStarted = new Promise<void>((resolve) => (started = resolve));
      const loading = b.cache.getOrLoad(key, LONG, async () => {
        started();
        await released;
        return 'loaded before the change';
      });
      await hasStarted;
      b.subscriber.stream.pause();
      try {
        await a.cache.invalidate({ keys: [key] });
        release();
        expect(await loading).toBe('loaded before the change');
        expect(await b.cache.get(key)).toBeUndefined();
      } finally {
        b.subscriber.stream.resume();
      }
    });

    it('does not keep a value whose read was answered after invalidations may have been missed', async () => {
      const [a, b] = await twoInstances();
      await changeUnannounced(a.redis, prefix, key, 'before');
      const held = holdNextReply(b.redis, 'get');
      const reading = b.cache.getOrLoad(key, LONG, async () => 'not loaded');
      await held.replied;
      const ended = once(b.subscriber, 'end');
      b.subscriber.disconnect();
      await ended;
      await a.cache.invalidate({ keys: [key] });
      await b.subscriber.connect();
      await nearCacheOn(b.cache, b.redis, prefix);
      held.release();

      expect(await reading).toBe('before');
      expect(await b.cache.get(key)).toBeUndefined();
    });
  });

  describe("sees this instance's own changes in its very next read, announcement or not", () => {
    it('a delete or a bump', async () => {
      const [a] = await twoInstances();
      await a.cache.getOrLoad(key, LONG, async () => 'kept');
      expect(await a.cache.version('list')).toBe(0);
      a.subscriber.stream.pause();
      try {
        const deleting = a.cache.invalidate({ keys: [key] });
        expect(await a.cache.get(key)).toBeUndefined();
        await deleting;
        const bumping = a.cache.invalidate({ versions: ['list'] });
        expect(await a.cache.version('list')).toBe(1);
        await bumping;
      } finally {
        a.subscriber.stream.resume();
      }
    });

    it('a delete while a read of the key is in flight', async () => {
      const [a] = await twoInstances();
      await changeUnannounced(a.redis, prefix, key, 'before');
      a.subscriber.stream.pause();
      try {
        const held = holdNextReply(a.redis, 'get');
        const reading = a.cache.getOrLoad(key, LONG, async () => 'not loaded');
        await held.replied;
        await a.cache.invalidate({ keys: [key] });
        held.release();

        expect(await reading).toBe('before');
        expect(await a.cache.get(key)).toBeUndefined();
      } finally {
        a.subscriber.stream.resume();
      }
    });
  });

  it("forgets another instance's delete, set and bump once announced", async () => {
    const [a, b] = await twoInstances();
    await b.cache.getOrLoad(key, LONG, async () => 'to delete');
    await b.cache.getOrLoad(`${key}-set`, LONG, async () => 'to replace');
    expect(await b.cache.version('list')).toBe(0);

    await a.cache.invalidate({ keys: [key] });
    await a.cache.set(`${key}-set`, 'replaced', LONG);
    await a.cache.invalidate({ versions: ['list'] });

    await eventually(() => b.cache.get(key), (value) => value === undefined);
    await eventually(() => b.cache.get(`${key}-set`), (value) => value === 'replaced');
    await eventually(() => b.cache.version('list'), (version) => version === 1);
  });

  it('forgets everything near on an announcement in another form (an older instance naming a bare key)', async () => {
    const [a, b] = await twoInstances();
    await a.cache.getOrLoad(key, LONG, async () => 'held');
    await a.cache.getOrLoad(`${key}-other`, LONG, async () => 'held too');
    expect(a.cache.peek(`${key}-other`)).toEqual({ value: 'held too' });
    await b.redis.publish(`${prefix}invalidate`, `${prefix}entry:${key}`);
    await eventually(async () => a.cache.peek(`${key}-other`), (held) => held === undefined);
    expect(a.cache.peek(key)).toBeUndefined();
  });

  it('keeps a near entry no longer than the TTL it was loaded with', async () => {
    const [a] = await twoInstances();
    await a.cache.getOrLoad(key, 500, async () => 'short-lived');
    await changeUnannounced(a.redis, prefix, key, 'changed unannounced');
    expect(await a.cache.get(key)).toBe('short-lived');
    await eventually(() => a.cache.get(key), (value) => value === 'changed unannounced');
  });

  it('close quits its own connection, stops answering locally, and leaves the shared client open', async () => {
    const [a] = await twoInstances();
    await a.cache.close();
    await eventually(() => a.subscriber.status, (status) => status === 'end');
    expect(await a.redis.ping()).toBe('PONG');
    expect(await answersLocally(a.cache, a.redis, prefix)).toBe(false);
  });
});
