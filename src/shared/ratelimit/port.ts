/**
 * Counters for abuse limits: a fixed window per key that starts with the key's first hit and
 * lasts `windowMs`. Fixed windows cost one counter per key; the price is that a client may
 * spend up to twice the limit across a window boundary, which is fine for abuse limits.
 */
export interface WindowCount {
  /** Hits in the current window, this one included. */
  readonly count: number;
  /** Time until the window ends and the count starts again. */
  readonly resetInMs: number;
}

export interface RateLimiter {
  readonly adapterName: string;
  /** Counts one hit against `key`; atomic, so concurrent hits each get their own count. */
  hit(key: string, windowMs: number): Promise<WindowCount>;
  close(): Promise<void>;
}
