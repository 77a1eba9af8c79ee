import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { InProcessSessionPositions } from './memory';
import { SessionPositions } from './port';

/**
 * Read-your-writes as the route runner uses it: records a user's writes and says how far a
 * read of theirs must wait. When the positions cannot be read (Redis down), the head of the
 * log stands in for the user's latest write: it is at or past it, so reads stay correct and
 * only wait longer. A position that could not be recorded is kept in this process as well as
 * logged and counted: reads here still wait for it, while another instance may miss that write
 * until the projections pass it.
 */
export class OwnWrites {
  private degraded = false;
  private readonly unshared: InProcessSessionPositions;
  private readonly recordFailures: Counter;

  constructor(
    private readonly positions: SessionPositions,
    private readonly head: () => Promise<string | null>,
    private readonly logger: Logger,
    ttlMs: number,
    metrics: Registry,
  ) {
    this.unshared = new InProcessSessionPositions(ttlMs);
    this.recordFailures = new Counter({
      name: 'eventmart_session_position_record_failures_total',
      help: "Writes whose position could not be recorded for read-your-writes across instances (kept in this process only)",
      registers: [metrics],
    });
  }

  async record(userId: string, position: string): Promise<void> {
    try {
      await this.positions.record(userId, position);
    } catch (error) {
      this.recordFailures.inc();
      await this.unshared.record(userId, position);
      this.logger.warn({ err: error, userId, position }, "could not record a write's position: the user's next read on another instance may not show it yet");
    }
  }

  async latest(userId: string): Promise<string | null> {
    const kept = this.unshared.known(userId);
    try {
      const shared = await this.positions.latest(userId);
      if (this.degraded) this.logger.info('session positions readable again');
      this.degraded = false;
      return kept !== null && (shared === null || kept > shared) ? kept : shared;
    } catch (error) {
      if (!this.degraded) this.logger.warn({ err: error }, 'session positions unreadable: reads wait for the head of the log until they are back');
      this.degraded = true;
      return this.head();
    }
  }
}
