import { LeaseGrant, LeaseService } from './port';

interface Held {
  readonly owner: string;
  readonly token: number;
  expiresAt: number;
}

/**
 * Leases inside one process: the embedded default, where one process runs the projections.
 * Processes sharing embedded stores without Redis each hold their own leases, so each runs
 * every projection; the checkpoint compare-and-set still applies each batch once.
 */
export class InProcessLeaseService implements LeaseService {
  readonly adapterName = 'in-process';
  private readonly leases = new Map<string, Held>();
  private lastToken = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A restarted process counts from 1 again, below the fence its earlier life left in the stores: `above` lifts it. */
  async acquire(name: string, owner: string, ttlMs: number, takeOverFrom?: string, above = 0): Promise<LeaseGrant | null> {
    const held = this.current(name);
    if (held?.owner === owner && held.token > above) {
      held.expiresAt = this.now() + ttlMs;
      return { fencingToken: held.token };
    }
    if (held && held.owner !== owner && !(takeOverFrom !== undefined && held.owner.startsWith(takeOverFrom))) return null;
    const token = (this.lastToken = Math.max(this.lastToken, above) + 1);
    this.leases.set(name, { owner, token, expiresAt: this.now() + ttlMs });
    return { fencingToken: token };
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const held = this.current(name);
    if (held?.owner !== owner) return false;
    held.expiresAt = this.now() + ttlMs;
    return true;
  }

  async release(name: string, owner: string): Promise<void> {
    if (this.current(name)?.owner === owner) this.leases.delete(name);
  }

  async close(): Promise<void> {}

  private current(name: string): Held | undefined {
    const held = this.leases.get(name);
    return held && held.expiresAt > this.now() ? held : undefined;
  }
}
