import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Cache } from './port';
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

const decode = (raw: string | null | undefined): unknown => (raw?.startsWith(VALUE) ? JSON.parse(raw.slice(VALUE.length)) : undefined);

/**
 * The cache shared by every app instance. Keys: `<prefix>entry:<key>` for values and
 * tombstones, `<prefix>version:<name>` for versions (kept without expiry: a version that
 * restarted at 0 could reach entries written under the old 0).
 *
 * Reads that fail are misses and the reader loads from the read model. A failed delete or
 * bump is reported to `onError` and otherwise left to the entries' TTL.
 * The client belongs to the caller: `close` leaves it open.
 */
export class RedisCache implements Cache {
  readonly adapterName = 'redis';
  private readonly flights = new SingleFlight();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly onError: (error: unknown, operation: 'delete' | 'bumpVersion') => void = () => undefined,
  ) {}

  async get<T>(key: string): Promise<T | undefined> {
    return decode(await this.read(key)) as T | undefined;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    try {
      await this.redis.set(this.entryKey(key), VALUE + JSON.stringify(value), 'PX', ttlPx(ttlMs));
    } catch {
      // Not cached this time; the next reader loads again.
    }
  }

  async delete(key: string): Promise<void> {
    this.flights.delete(key);
    try {
      await this.redis.set(this.entryKey(key), TOMBSTONE + randomUUID(), 'PX', TOMBSTONE_TTL_MS);
    } catch (error) {
      this.onError(error, 'delete');
    }
  }

  async version(name: string): Promise<number | null> {
    try {
      return Number((await this.redis.get(this.versionKey(name))) ?? 0);
    } catch {
      return null;
    }
  }

  async bumpVersion(name: string): Promise<void> {
    try {
      await this.redis.incr(this.versionKey(name));
    } catch (error) {
      this.onError(error, 'bumpVersion');
    }
  }

  getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    return this.flights.run(key, async (flight) => {
      const seen = await this.read(key);
      if (seen?.startsWith(VALUE)) return decode(seen) as T;
      const value = await load();
      // After a failed read there is nothing to compare with, so nothing is stored.
      if (value !== undefined && seen !== undefined && !flight.deleted) await this.fill(key, seen ?? '', value, ttlMs);
      return value;
    });
  }

  async close(): Promise<void> {}

  /** The stored string, null when there is none, undefined when Redis could not be asked. */
  private async read(key: string): Promise<string | null | undefined> {
    try {
      return await this.redis.get(this.entryKey(key));
    } catch {
      return undefined;
    }
  }

  private async fill(key: string, seen: string, value: unknown, ttlMs: number): Promise<void> {
    try {
      await this.redis.eval(FILL, 1, this.entryKey(key), seen, VALUE + JSON.stringify(value), ttlPx(ttlMs));
    } catch {
      // Not cached this time.
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
