import { LRUCache } from 'lru-cache';
import { Cache, Invalidation } from './port';
import { InMemoryReader } from './in-memory';
import { SingleFlight } from './single-flight';

/**
 * The embedded cache: a bounded LRU in this process, every entry with its own TTL. Values are
 * kept as given, not copied: callers must treat them as immutable.
 *
 * Only the process whose projections invalidate it can keep it fresh; with the projections in
 * another process (RUN_PROJECTIONS=false) and no Redis, entries are only bounded by their TTL.
 */
export class InProcessCache implements Cache, InMemoryReader {
  readonly adapterName = 'in-process';
  /** Boxed because the LRU refuses undefined and null values. */
  private readonly entries: LRUCache<string, { readonly value: unknown }>;
  private readonly versions = new Map<string, number>();
  private readonly flights = new SingleFlight();

  constructor(maxEntries = 10_000) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.entries.get(key)?.value as T | undefined;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    this.entries.set(key, { value }, { ttl: ttlMs });
  }

  async invalidate({ keys = [], versions = [] }: Invalidation): Promise<void> {
    for (const key of keys) {
      this.flights.delete(key);
      this.entries.delete(key);
    }
    for (const name of versions) this.versions.set(name, (this.versions.get(name) ?? 0) + 1);
  }

  async version(name: string): Promise<number> {
    return this.versions.get(name) ?? 0;
  }

  peek<T>(key: string): { readonly value: T } | undefined {
    return this.entries.get(key) as { readonly value: T } | undefined;
  }

  peekVersion(name: string): number {
    return this.versions.get(name) ?? 0;
  }

  getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) return Promise.resolve(hit.value as T);
    return this.flights.run(key, async (flight) => {
      const value = await load();
      if (value !== undefined && !flight.deleted) this.entries.set(key, { value }, { ttl: ttlMs });
      return value;
    });
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
