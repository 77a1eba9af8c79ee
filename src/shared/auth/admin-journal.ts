import { randomUUID } from 'node:crypto';
import { uuidFromHash } from '../command/event-ids';
import { Clock } from '../container/tokens';
import { EventStore, JsonObject } from '../eventstore/port';
import { Principal } from './tokens';

export const ADMIN_ACTION_PERFORMED = 'AdminActionPerformed';

export const adminJournalStream = (adminId: string) => `admin-${adminId}`;

export interface AdminAction {
  readonly method: string;
  /** The route's template (/admin/products/{id}/restock), with the values in `params`. */
  readonly route: string;
  readonly params: JsonObject;
  /** The status the action was answered with. */
  readonly status: number;
}

/**
 * Every admin action that succeeded is an event in the admin's own stream, `admin-<adminId>`.
 * Actions that are domain events (a product registered, payment data forgotten) also carry the
 * admin's id in their own metadata, written atomically with them; this journal is what records
 * those that are not (a projection rebuild, a retried delivery, a key re-wrap), and gives one
 * place to read everything an admin did. It is written after the action, so a refused request
 * writes nothing, and an action is never reported as failed because its record could not be
 * written (that is logged as an error instead). Request bodies are left out: the log cannot
 * forget, so nothing personal goes into it.
 */
export class AdminJournal {
  constructor(
    private readonly events: EventStore,
    private readonly clock: Clock,
  ) {}

  async record(admin: Principal, action: AdminAction, idSeed: string | undefined): Promise<void> {
    await this.events.append([
      {
        stream: adminJournalStream(admin.userId),
        expectedRevision: 'any',
        events: [
          {
            // A retried request (same Idempotency-Key) is recorded once.
            id: idSeed ? uuidFromHash(`${idSeed}\u0000admin-journal`) : randomUUID(),
            type: ADMIN_ACTION_PERFORMED,
            data: { ...action, occurredAt: this.clock.now().toISOString() },
            metadata: { actorId: admin.userId, role: admin.role },
          },
        ],
      },
    ]);
  }
}
