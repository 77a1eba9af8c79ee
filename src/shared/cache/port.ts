/**
 * A cache in front of read models. It only makes reads faster: every value can be loaded again
 * from the read model, so a backend failure turns into a miss (or a lost entry), never an error
 * for the reader. Values are JSON; keys are plain strings that the adapter prefixes.
 *
 * Invalidation comes in two shapes, announced together by `invalidate`: keys to forget, and
 * versions for a family of keys too open-ended to list (every page of a list): readers put the
 * current version in the key, and a bump makes every key built with an older one unreachable at once.
 */
export interface Invalidation {
  readonly keys?: readonly string[];
  readonly versions?: readonly string[];
}

export interface Cache {
  readonly adapterName: string;
  /** The value under `key`; undefined when absent, expired, deleted, or the backend failed. */
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /**
   * Removes the entries under `keys` and bumps each version in `versions`, in one step: a change
   * to the read model behind them announces itself with one call. A `getOrLoad` of one of the
   * keys whose load began before this call does not store what it loaded: that may predate the change.
   */
  invalidate(change: Invalidation): Promise<void>;
  /** The current version of `name` (0 before its first bump), or null when the backend cannot say. */
  version(name: string): Promise<number | null>;
  /**
   * The cached value, or else what `load` returns, kept for `ttlMs` (undefined is returned but not
   * kept). Concurrent calls for one key in one process share one lookup and one load, so a cold
   * hot key costs the read model a single query (single flight).
   */
  getOrLoad<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T>;
  /** The backend client, when shared, belongs to the caller and stays open. */
  close(): Promise<void>;
}
