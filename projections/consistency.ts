import { DocumentStore } from '../src/shared/documents/port';
import { HttpProblem } from '../src/shared/http/problem';

/** The projector running in this process, as far as read-your-writes needs it. */
export interface LocalProjector {
  /** Called each time a projection moves, whether or not its checkpoint was stored. */
  onAdvance(listener: () => void): () => void;
  /** Where the local runner has got to, possibly ahead of the stored checkpoint; null if it has not run the projection. */
  reached(name: string): string | null;
  /** True when every event after `after` up to `upTo` is one the projection ignores, as far as a short read of the log tells. */
  ignoresBetween(name: string, after: string | null, upTo: string): Promise<boolean>;
}

/**
 * Read-your-writes: a query that names the position of a write is answered only once the
 * projections it reads have passed it. A projection counts as past it when either its stored
 * checkpoint or the local runner is: the local runner moves past an event only once it has
 * applied and committed it, or ignored it. While another process runs the projections,
 * stored checkpoints count, and a projection with nothing to apply for the write stores its
 * checkpoint up to CHECKPOINT_PERSIST_MS (or a poll interval, once writes pause) later; so a
 * stored checkpoint also counts as past the position when the log between the two holds only
 * events the projection ignores (its read model is then the same at both). Without a local
 * projector only stored checkpoints count.
 */
export class ProjectionWaiter {
  constructor(
    private readonly documents: DocumentStore,
    private readonly timeoutMs: number,
    /** Without it we only poll stored checkpoints. */
    private readonly local?: LocalProjector,
    private readonly pollMs = 25,
  ) {}

  async waitFor(projections: readonly string[], position: string): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      if (await this.passed(projections, position)) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new HttpProblem(503, 'CONSISTENCY_TIMEOUT', 'the read model has not reached that position yet; retry shortly', { position }, { 'Retry-After': '1' });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(this.pollMs, left));
        const stop = this.local?.onAdvance(done) ?? (() => undefined);
        function done() {
          clearTimeout(timer);
          stop();
          resolve();
        }
      });
    }
  }

  private async passed(projections: readonly string[], position: string): Promise<boolean> {
    const pending = projections.filter((name) => !this.reachedLocally(name, position));
    const passed = await Promise.all(
      pending.map(async (name) => {
        const stored = await this.documents.getCheckpoint(name);
        if (stored !== null && stored >= position) return true;
        return this.local ? this.local.ignoresBetween(name, stored, position) : false;
      }),
    );
    return passed.every(Boolean);
  }

  private reachedLocally(name: string, position: string): boolean {
    const reached = this.local?.reached(name) ?? null;
    return reached !== null && reached >= position;
  }
}
