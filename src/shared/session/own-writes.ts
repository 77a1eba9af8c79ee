import type { Logger } from 'pino';
import { SessionPositions } from './port';

/**
 * Read-your-writes as the route runner uses it: records a user's writes and says how far a
 * read of theirs must wait. When the positions cannot be read (Redis down), the head of the
 * log stands in for the user's latest write: it is at or past it, so reads stay correct and
 * only wait longer. A position that could not be recorded is logged: the user's next read
 * may then miss that write until the projections pass it.
 */
export class OwnWrites {
  private degraded = false;

  constructor(
    private readonly positions: SessionPositions,
    private readonly head: () => Promise<string | null>,
    private readonly logger: Logger,
  ) {}

  async record(userId: string, position: string): Promise<void> {
    try {
      await this.positions.record(userId, position);
    } catch (error) {
      this.logger.warn({ err: error, userId, position }, "could not record a write's position: the user's next read may not show it yet");
    }
  }

  async latest(userId: string): Promise<string | null> {
    try {
      const position = await this.positions.latest(userId);
      if (this.degraded) this.logger.info('session positions readable again');
      this.degraded = false;
      return position;
    } catch (error) {
      if (!this.degraded) this.logger.warn({ err: error }, 'session positions unreadable: reads wait for the head of the log until they are back');
      this.degraded = true;
      return this.head();
    }
  }
}
