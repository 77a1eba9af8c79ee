import { Recorded } from '../src/shared/eventstore/recorded';
import { WalletEvent } from '../src/write/wallet/events';
import { projection, ProjectionView } from './projection';

export const POINT_HISTORY = 'point_history';

export type PointEntryType = 'CHARGE' | 'USE' | 'REFUND';

export type PointHistoryDoc = {
  readonly id: string;
  readonly userId: string;
  readonly type: PointEntryType;
  readonly amount: number;
  readonly balanceAfter: number;
  readonly orderId?: string;
  readonly occurredAt: string;
  /** Log position: orders entries exactly as they happened, even within one millisecond. */
  readonly position: string;
};

const entryTypes: { readonly [T in WalletEvent['type']]: PointEntryType } = { PointsCharged: 'CHARGE', PointsUsed: 'USE', PointsRefunded: 'REFUND' };

function entry(event: Recorded<WalletEvent>, view: ProjectionView): void {
  const { data } = event;
  const doc: PointHistoryDoc = {
    id: event.position,
    userId: data.userId,
    type: entryTypes[event.type],
    amount: data.amount,
    balanceAfter: data.balanceAfter,
    ...('orderId' in data ? { orderId: data.orderId } : {}),
    occurredAt: data.occurredAt,
    position: event.position,
  };
  view.upsert(POINT_HISTORY, doc);
}

/**
 * One entry per wallet event, keyed by the event's log position: a redelivered event rewrites the
 * same entry, and new entries land at the end of the key order instead of at a random place
 * (an event id is a random UUID), where each insert rewrote a random leaf of the table's key
 * (docs/BENCHMARKS.md, "Fifth round").
 */
export const pointHistoryProjection = projection<WalletEvent>({
  name: POINT_HISTORY,
  collections: [{ name: POINT_HISTORY, indexes: [['userId', 'position']] }],
  handlers: { PointsCharged: entry, PointsUsed: entry, PointsRefunded: entry },
});
