import { LRUCache } from 'lru-cache';
import { SessionPositions } from './port';

/**
 * Positions inside one process: the embedded mode, where one process answers every request.
 * Bounded by entries as well as by time; a user pushed out by a million more recent writers
 * only loses the wait, which by then has long been over.
 */
export class InProcessSessionPositions implements SessionPositions {
  readonly adapterName = 'in-process';
  private readonly positions: LRUCache<string, string>;

  constructor(ttlMs: number, maxUsers = 1_000_000) {
    this.positions = new LRUCache({ max: maxUsers, ttl: ttlMs });
  }

  async record(userId: string, position: string): Promise<void> {
    const current = this.positions.get(userId);
    this.positions.set(userId, current !== undefined && current > position ? current : position);
  }

  async latest(userId: string): Promise<string | null> {
    return this.known(userId);
  }

  /** `latest` without waiting: nothing here needs I/O. */
  known(userId: string): string | null {
    return this.positions.get(userId) ?? null;
  }

  async close(): Promise<void> {}
}
