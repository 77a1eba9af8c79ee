/**
 * What a cache holds in this process's memory, read without I/O: lets a read be answered in
 * the turn it arrived (the fast lane's `fromMemory`). Not part of the Cache port, which every
 * backend must offer; only an adapter that keeps copies in process memory offers this too.
 */
export interface InMemoryReader {
  /**
   * What the cache's `get` would answer from this process's memory alone: undefined when the
   * answer would need the backend (or the layer that holds copies here is off).
   */
  peek<T>(key: string): { readonly value: T } | undefined;
  /** The cache's `version` from this process's memory alone; undefined when it would need the backend. */
  peekVersion(name: string): number | undefined;
}
