import { DocumentStore } from '../src/shared/documents/port';
import { HttpProblem } from '../src/shared/http/problem';

/**
 * Read-your-writes: a query that names the position of a write is answered only once the
 * projections it reads have passed it. Checkpoints live in the document store, so this works
 * whether the projector runs in this process or in another one.
 */
export class ProjectionWaiter {
  constructor(
    private readonly documents: DocumentStore,
    private readonly timeoutMs: number,
    /** In-process hint that a checkpoint moved; without it we only poll. */
    private readonly onAdvance: (listener: () => void) => () => void = () => () => undefined,
    private readonly pollMs = 25,
  ) {}

  async waitFor(projections: readonly string[], position: string): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const checkpoints = await Promise.all(projections.map((name) => this.documents.getCheckpoint(name)));
      if (checkpoints.every((checkpoint) => checkpoint !== null && checkpoint >= position)) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new HttpProblem(503, 'CONSISTENCY_TIMEOUT', 'the read model has not reached that position yet; retry shortly', { position }, { 'Retry-After': '1' });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(this.pollMs, left));
        const stop = this.onAdvance(done);
        function done() {
          clearTimeout(timer);
          stop();
          resolve();
        }
      });
    }
  }
}
