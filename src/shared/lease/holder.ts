import { LeaseService } from './port';

export interface Turn {
  /** This runner may work now. */
  readonly leading: boolean;
  /** It just became the runner: another one may have stopped anywhere, even between a commit and its follow-up. */
  readonly gained: boolean;
}

export interface LeaseEvents {
  taken(fencingToken: number): void;
  lost(): void;
  /** The backend did not answer: the runner works without the lease until it answers again. */
  unreachable(error: unknown): void;
}

/** The lease is counted as ours for this share of its TTL after we asked, so it lapses here before it lapses there. */
const LOCAL_SHARE = 0.9;

/**
 * One runner's side of one lease: takes it when free, renews it every third of its TTL, and
 * knows by its own clock how long it may still act on it. A runner that cannot reach the
 * backend keeps working (unfenced) rather than stall: the lease only saves work, and what it
 * guards stays correct with two runners.
 *
 * Its first attempt takes the lease from an earlier life of the same instance (`takeOverFrom`,
 * see LeaseService.acquire): a process restarted after a crash resumes at once instead of
 * waiting out its own dead lease. The fencing token then keeps the earlier life, should it
 * still be running, from writing again (see `fencingToken`).
 */
export class LeaseHolder {
  private token: number | null = null;
  /** The last token this runner held, kept while it works unfenced: a store refuses it once a successor wrote. */
  private lastToken: number | null = null;
  private validUntil = 0;
  private nextAttemptAt = 0;
  private unfenced = false;
  /** The largest fence a store refused our token with: every later grant must be above it. */
  private refusedAt = 0;
  readonly retryMs: number;

  constructor(
    private readonly service: LeaseService,
    readonly name: string,
    private readonly owner: string,
    private readonly ttlMs: number,
    private readonly events: LeaseEvents,
    private readonly now: () => number = () => performance.now(),
    private takeOverFrom?: string,
  ) {
    this.retryMs = Math.max(1, Math.floor(ttlMs / 3));
  }

  /** Whether this runner may work now; talks to the backend only when a renewal or a new attempt is due. */
  async turn(): Promise<Turn> {
    const before = this.mayAct();
    const sentAt = this.now();
    if (sentAt < this.nextAttemptAt) return { leading: before, gained: false };
    this.nextAttemptAt = sentAt + this.retryMs;
    try {
      if (this.token !== null && !(await this.service.renew(this.name, this.owner, this.ttlMs))) {
        this.token = null;
        this.validUntil = 0;
        this.events.lost();
      }
      if (this.token === null) {
        const grant = await this.service.acquire(this.name, this.owner, this.ttlMs, this.takeOverFrom, this.refusedAt);
        // Only at start: a holder of the same instance seen later is a live twin, not a dead predecessor.
        this.takeOverFrom = undefined;
        if (grant) {
          this.token = this.lastToken = grant.fencingToken;
          this.events.taken(grant.fencingToken);
        }
      }
      if (this.token !== null) this.validUntil = sentAt + this.ttlMs * LOCAL_SHARE;
      this.unfenced = false;
    } catch (error) {
      if (!this.unfenced) this.events.unreachable(error);
      this.unfenced = true;
    }
    const leading = this.mayAct();
    return { leading, gained: leading && !before };
  }

  /** Still ours by the local clock (or running unfenced): checked again right before a write. */
  mayAct(): boolean {
    return this.unfenced || (this.token !== null && this.now() < this.validUntil);
  }

  /** What a write guarded by this lease carries, for the store to refuse once a later holder has written; null if never held. */
  get fencingToken(): number | null {
    return this.token ?? this.lastToken;
  }

  /**
   * A store refused our token, holding `storedFence`: a later holder has the lease, whatever our
   * clock says; or, if the backend still names us as the holder, its counter went backwards, and
   * our next grant is drawn above the store's fence.
   */
  fenced(storedFence: number): void {
    this.refusedAt = Math.max(this.refusedAt, storedFence);
    if (this.token === null && !this.unfenced) return;
    this.token = null;
    this.validUntil = 0;
    this.unfenced = false;
    this.nextAttemptAt = this.now() + this.retryMs;
    this.events.lost();
  }

  /** Hands the lease over at once; a failure only means the successor waits out the TTL. */
  async release(): Promise<void> {
    if (this.token === null) return;
    this.token = null;
    this.validUntil = 0;
    await this.service.release(this.name, this.owner).catch(() => undefined);
  }
}
