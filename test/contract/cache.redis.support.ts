import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisCache } from '../../src/shared/cache/redis';
import { eventually } from '../support/eventually';

const LONG = 60_000;

/**
 * The connection `client.duplicate()` opens next, which is how a RedisCache opens its
 * subscriber. With `connected: false` it is left unconnected until the test connects it, so
 * the cache stays unsubscribed. Restore with jest.restoreAllMocks().
 */
export function nextSubscriber(client: Redis, { connected = true } = {}): () => Redis {
  let subscriber: Redis | undefined;
  jest.spyOn(client, 'duplicate').mockImplementationOnce(((override: object) => {
    subscriber = Redis.prototype.duplicate.call(client, connected ? override : { ...override, lazyConnect: true });
    return subscriber;
  }) as never);
  return () => {
    if (!subscriber) throw new Error('no subscriber was opened');
    return subscriber;
  };
}

/** Changes an entry in Redis without announcing it, as if the announcement had been missed. */
export async function changeUnannounced(redis: Redis, prefix: string, key: string, value: unknown): Promise<void> {
  await redis.set(`${prefix}entry:${key}`, `v${JSON.stringify(value)}`, 'PX', LONG);
}

/** True when `cache` answers from its near cache: it still says what it loaded after Redis changed behind its back. */
export async function answersLocally(cache: RedisCache, redis: Redis, prefix: string): Promise<boolean> {
  const key = `probe-${randomUUID()}`;
  await cache.getOrLoad(key, LONG, async () => 'loaded');
  await changeUnannounced(redis, prefix, key, 'changed in Redis');
  return (await cache.get(key)) === 'loaded';
}

/** Waits until `cache` is subscribed and answers from its near cache. */
export async function nearCacheOn(cache: RedisCache, redis: Redis, prefix: string): Promise<void> {
  await eventually(() => answersLocally(cache, redis, prefix), Boolean);
}

/** Resolves once `subscriber` has received the announcement of a change to `redisKey` (after the cache's own listener ran). */
export function announced(subscriber: Redis, redisKey: string): Promise<void> {
  return new Promise((resolve) => {
    // An announcement is a JSON array of the Redis keys that changed.
    const listener = (_channel: string, message: string) => {
      if (!(JSON.parse(message) as string[]).includes(redisKey)) return;
      subscriber.off('message', listener);
      resolve();
    };
    subscriber.on('message', listener);
  });
}

/** Makes the next `command` on `client` hand back its reply only when the test releases it, as a slow network would. */
export function holdNextReply(client: Redis, command: 'get' | 'eval' | 'subscribe'): { replied: Promise<void>; release: () => void } {
  const send = client[command].bind(client) as (...args: unknown[]) => Promise<unknown>;
  let replied!: () => void;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const hasReplied = new Promise<void>((resolve) => (replied = resolve));
  jest.spyOn(client, command).mockImplementationOnce((async (...args: unknown[]) => {
    const reply = await send(...args);
    replied();
    await released;
    return reply;
  }) as never);
  return { replied: hasReplied, release };
}
