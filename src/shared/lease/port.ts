/**
 * Leases name the one runner of a piece of background work (a projection) among all processes.
 * They save work and bound a handover; they are not the correctness guard: whatever a lease
 * protects must stay correct when two runners overlap (a projection's checkpoint compare-and-set).
 *
 * A lease is held by an `owner` (a string unique to one runner) for `ttlMs` unless renewed. A
 * holder that dies simply stops renewing, and the lease is free again after at most `ttlMs`,
 * or at once for a runner that names the dead holder as an earlier life of its own (`takeOverFrom`).
 */
export interface LeaseGrant {
  /**
   * Strictly increasing per lease name across holders while the backend keeps its data, and
   * always above the `above` the caller names: a backend that lost its counter (Redis restarted
   * empty) must not hand out tokens that a store already holds as its fence.
   */
  readonly fencingToken: number;
}

export interface LeaseService {
  readonly adapterName: string;
  /**
   * Takes the lease unless another owner holds it; the holder asking again renews it and keeps its
   * token. A holder whose owner starts with `takeOverFrom` (this runner's instance, in an earlier
   * life) is replaced at once, with a new, larger token that fences it out. The holder asking
   * again with an `above` at least its token gets a new token above it (a store refused its
   * token: the counter went backwards, since no other owner took the lease meanwhile).
   */
  acquire(name: string, owner: string, ttlMs: number, takeOverFrom?: string, above?: number): Promise<LeaseGrant | null>;
  /** Extends the lease to `ttlMs` from now, only if `owner` still holds it. */
  renew(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease at once (a clean stop hands over without waiting), only if `owner` still holds it. */
  release(name: string, owner: string): Promise<void>;
  close(): Promise<void>;
}
