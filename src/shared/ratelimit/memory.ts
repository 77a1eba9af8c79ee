import { RateLimiter, WindowCount } from './port';

interface Window {
  count: number;
  endsAt: number;
}

const SWEEP_EVERY_HITS = 1_000;

/** Counters inside one process (no REDIS_URL): each instance counts on its own. */
export class InProcessRateLimiter implements RateLimiter {
  readonly adapterName = 'in-process';
  private readonly windows = new Map<string, Window>();
  private hitsSinceSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Keys with a window still open or not yet swept. */
  get size(): number {
    return this.windows.size;
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const now = this.now();
    if (++this.hitsSinceSweep >= SWEEP_EVERY_HITS) this.sweep(now);
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) this.windows.set(key, (window = { count: 0, endsAt: now + windowMs }));
    window.count += 1;
    return { count: window.count, resetInMs: window.endsAt - now };
  }

  async close(): Promise<void> {
    this.windows.clear();
  }

  /** Forgets ended windows, so one-off clients (a new IP each time) cannot grow the map without bound. */
  private sweep(now: number): void {
    this.hitsSinceSweep = 0;
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }
}
