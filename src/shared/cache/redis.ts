import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { NearCache } from './near';
import { Cache, Invalidation } from './port';
import { InMemoryReader } from './in-memory';
import { SingleFlight } from './single-flight';

/** Stored strings start with a tag: a value (JSON follows) or a tombstone (a random id follows). */
const VALUE = 'v';
const TOMBSTONE = 't';
/** Far longer than any load, so a load that began before a delete always finds its tombstone. */
const TOMBSTONE_TTL_MS = 60_000;

// Stores the loaded value only if the key still holds what the loader saw before loading
// (nothing, or the same tombstone): a delete in between, from any instance, leaves a new
// tombstone, and the older value is dropped instead of overwriting it.
const FILL = `
if (redis.call('GET', KEYS[1]) or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

// A change and its announcement, which makes every instance's near cache forget the key, in
// one round trip.
const REPLACE = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], cjson.encode({KEYS[1]}))`;

// Tombstones for the first ARGV[1] keys (ARGV[2] followed by the key's number, for ARGV[3] ms),
// a bump for each key after them, and one announcement of them all.
const INVALIDATE = `
local entries = tonumber(ARGV[1])
for i = 1, #KEYS do
  if i <= entries then
    redis.call('SET', KEYS[i], ARGV[2] .. i, 'PX', ARGV[3])
  else
    redis.call('INCR', KEYS[i])
  end
end
redis.call('PUBLISH', ARGV[4], cjson.encode(KEYS))`;

const decode = (raw: string | null | undefined): unknown => (raw?.startsWith(VALUE) ? JSON.parse(raw.slice(VALUE.length)) : undefined);

/**
 * The cache shared by every app instance. Keys: `<prefix>entry:<key>` for values and
 * tombstones, `<prefix>version:<name>` for versions (kept without expiry: a version that
 * restarted at 0 could reach entries written under the old 0).
 *
 * In front of Redis sits a near cache in this process, so a repeated hit costs no round trip.
 * Every set, delete and bump publishes the Redis key it changed on `<prefix>invalidate`, and
 * every instance (this one included) listens there on a connection of its own and forgets that
 * key. The near cache is on only while that subscription is confirmed: before it, and from any
 * disconnect or error until it is confirmed again, every read goes to Redis. A near entry lasts
 * no longer than the TTL getOrLoad read or loaded it with, counted from then (`get` uses the
 * near cache but does not fill it, having no TTL to bound a copy by); a near version lasts
 * until a bump. Values read are shared, not copied: callers must treat them as immutable.
 *
 * Reads that fail are misses and the reader loads from the read model. A failed delete or
 * bump is reported to `onError` and otherwise left to the entries' TTL.
 * The client belongs to the caller: `close` leaves it open, and closes only the subscriber.
 */
export class RedisCache implements Cache, InMemoryReader {
  readonly adapterName = 'redis';
  private readonly flights = new SingleFlight();
  private readonly near = new NearCache();
  private readonly subscriber: Redis;
  private readonly channel: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.channel = `${prefix}invalidate`;
    // Subscribing ourselves on every 'ready' (rather than ioredis resubscribing) gives us the
    // confirmation to wait for; lazyConnect is off since nothing else would ever connect it.
    this.subscriber = redis.duplicate({ autoResubscribe: false, lazyConnect: false });
    this.subscriber.on('message', (_channel: string, keys: string) => this.forget(keys));
    this.subscriber.on('ready', () => this.subscribe());
    // From any of these on, invalidations may be missed. ('end' comes after 'close' or 'error'
    // in ioredis today, but it is the documented last word.)
    for (const lapse of ['close', 'end'] as const) this.subscriber.on(lapse, () => this.near.disable());
    this.subscriber.on('error', () => {
      this.near.disable();
      // An error that leaves the connection up brings no 'ready' to subscribe again on.
      if (this.subscriber.status === 'ready') this.subscribe();
    });
  }

  async get<T>(key: string): Promise<T | undefined> {
    const near = this.near.lookup(this.entryKey(key));
    if (near) return near.value as T;
    return decode(await this.read(key)) as T | undefined;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    try {
      await this.replace(key, VALUE + JSON.stringify(value), ttlMs);
    } catch {
      // Not cached this time; the next reader loads again.
    }
  }

  async invalidate({ keys = [], versions = [] }: Invalidation): Promise<void> {
    if (keys.length === 0 && versions.length === 0) return;
    keys.forEach((key) => this.flights.delete(key));
    const redisKeys = [...keys.map((key) => this.entryKey(key)), ...versions.map((name) => this.versionKey(name))];
    // Dropped before the change is sent, so this process's next read goes to Redis (read-your-writes).
    redisKeys.forEach((key) => this.near.invalidate(key));
    try {
      await this.redis.eval(INVALIDATE, redisKeys.length, ...redisKeys, keys.length, `${TOMBSTONE}${randomUUID()}:`, TOMBSTONE_TTL_MS, this.channel);
    } catch (error) {
      this.onError(error);
    }
  }

  async version(name: string): Promise<number | null> {
    const key = this.versionKey(name);
    const near = this.near.lookup(key);
    if (near) return near.value as number;
    return this.near.watch(key, async (keep) => {
      try {
        const version = Number((await this.redis.get(key)) ?? 0);
        keep(version);
        return version;
      } catch {
        return null;
      }
    });
  }

  peek<T>(key: string): { readonly value: T } | undefined {
    return this.near.lookup(this.entryKey(key)) as { readonly value: T } | undefined;
  }

  peekVersion(name: string): number | undefined {
    return this.near.lookup(this.versionKey(name))?.value as number | undefined;
  }

  getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const near = this.near.lookup(this.entryKey(key));
    if (near) return Promise.resolve(near.value as T);
    return this.flights.run(key, (flight) =>
      this.near.watch(this.entryKey(key), async (keep) => {
        const seen = await this.read(key);
        if (seen?.startsWith(VALUE)) {
          const value = decode(seen);
          keep(value, ttlMs);
          return value as T;
        }
        const value = await load();
        // After a failed read there is nothing to compare with, so nothing is stored.
        if (value === undefined || seen === undefined || flight.deleted) return value;
        const stored = VALUE + JSON.stringify(value);
        // What Redis would give back, so a near hit looks like any other (and the loader's object stays its own).
        if (await this.fill(key, seen ?? '', stored, ttlMs)) keep(decode(stored), ttlMs);
        return value;
      }),
    );
  }

  async close(): Promise<void> {
    if (this.subscriber.status === 'ready') {
      // Fails only when the connection dropped meanwhile; disconnecting then stops it reconnecting.
      await this.subscriber.quit().catch(() => this.subscriber.disconnect());
    } else if (this.subscriber.status !== 'end') {
      // Not connected, where quit would wait for a connection (or be refused without an offline queue).
      this.subscriber.disconnect();
    }
    // Last, so a subscription confirmed while quitting cannot turn the near cache back on.
    this.near.disable();
  }

  /** An announcement names the Redis keys that changed, as a JSON array. */
  private forget(announcement: string): void {
    try {
      for (const key of JSON.parse(announcement) as string[]) this.near.invalidate(key);
    } catch {
      // Another form (an older instance announcing a bare key): forget everything rather than guess.
      this.near.disable();
      this.near.enable();
    }
  }

  private subscribe(): void {
    this.subscriber.subscribe(this.channel).then(
      () => {
        if (this.subscriber.status === 'ready') this.near.enable();
      },
      // The connection dropped, or the server refused: the next 'ready' tries again, and meanwhile reads go to Redis.
      () => undefined,
    );
  }

  /** Writes `stored` and announces it, after forgetting the key here so this process's next read goes to Redis. */
  private replace(key: string, stored: string, ttlMs: number): Promise<unknown> {
    this.near.invalidate(this.entryKey(key));
    return this.redis.eval(REPLACE, 1, this.entryKey(key), stored, ttlPx(ttlMs), this.channel);
  }

  /** The stored string, null when there is none, undefined when Redis could not be asked. */
  private async read(key: string): Promise<string | null | undefined> {
    try {
      return await this.redis.get(this.entryKey(key));
    } catch {
      return undefined;
    }
  }

  /** True when the value was stored. */
  private async fill(key: string, seen: string, stored: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.eval(FILL, 1, this.entryKey(key), seen, stored, ttlPx(ttlMs))) === 1;
    } catch {
      return false;
    }
  }

  private entryKey(key: string): string {
    return `${this.prefix}entry:${key}`;
  }

  private versionKey(name: string): string {
    return `${this.prefix}version:${name}`;
  }
}

const ttlPx = (ttlMs: number) => Math.max(1, Math.ceil(ttlMs));
