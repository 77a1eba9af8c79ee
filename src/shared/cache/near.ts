import { LRUCache } from 'lru-cache';

/**
 * Far more than the hot keys (the products, the first pages of the list, the popular rankings);
 * the bound only stops a crawl over every product or cursor from growing the heap without limit.
 * An entry dropped early costs one Redis round trip.
 */
const MAX_ENTRIES = 10_000;

/** A read from Redis in flight; stale once anything may have changed what it read. */
interface Watch {
  stale: boolean;
}

/** What `NearCache.watch` hands its read: keeps `value`, for `ttlMs` or else until invalidated, unless the read went stale. */
export type Keep = (value: unknown, ttlMs?: number) => void;

/**
 * Copies, in this process, of what this instance read from or stored in Redis, keyed by Redis
 * key, so a repeated read costs no round trip. They are right only while every invalidation
 * reaches this process, so the owner turns the layer on once its subscription to invalidations
 * is confirmed, and off, which forgets everything, whenever that subscription may have lapsed.
 * While off it answers and keeps nothing. Values are shared between readers, not copied:
 * callers must treat them as immutable.
 */
export class NearCache {
  /** Boxed because the LRU refuses undefined and null values. */
  private readonly entries = new LRUCache<string, { readonly value: unknown }>({ max: MAX_ENTRIES });
  private readonly watches = new Map<string, Set<Watch>>();
  private on = false;

  lookup(name: string): { readonly value: unknown } | undefined {
    return this.on ? this.entries.get(name) : undefined;
  }

  /**
   * Runs `read`, a read of `name` from Redis, and keeps what it passes to `keep` only if
   * nothing invalidated `name` and the layer stayed on from the start of the read: the
   * reply and the message announcing a later change travel on different connections, so the
   * reply may come in after the message. Any invalidation of `name` counts, including this
   * instance's own.
   */
  async watch<T>(name: string, read: (keep: Keep) => Promise<T>): Promise<T> {
    const watch: Watch = { stale: !this.on };
    let watches = this.watches.get(name);
    if (!watches) this.watches.set(name, (watches = new Set()));
    watches.add(watch);
    try {
      return await read((value, ttlMs) => {
        if (!watch.stale) this.entries.set(name, { value }, { ttl: ttlMs });
      });
    } finally {
      watches.delete(watch);
      if (watches.size === 0) this.watches.delete(name);
    }
  }

  invalidate(name: string): void {
    this.entries.delete(name);
    this.watches.get(name)?.forEach((watch) => (watch.stale = true));
  }

  enable(): void {
    this.on = true;
  }

  /** Invalidations may have been missed from now on: forget everything, and every read in flight. */
  disable(): void {
    this.on = false;
    this.entries.clear();
    this.watches.forEach((watches) => watches.forEach((watch) => (watch.stale = true)));
  }
}
