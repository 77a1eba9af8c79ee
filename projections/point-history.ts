import { unreachable } from '../src/shared/domain/decider';
import { WalletEvent } from '../src/write/wallet/events';
import { Projection } from './projection';

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

const entryType = (event: WalletEvent): PointEntryType => {
  switch (event.type) {
    case 'PointsCharged':
      return 'CHARGE';
    case 'PointsUsed':
      return 'USE';
    case 'PointsRefunded':
      return 'REFUND';
    default:
      return unreachable(event);
  }
};

/**
 * One entry per wallet event, keyed by the event's log position: a redelivered event rewrites the
 * same entry, and new entries land at the end of the key order instead of at a random place
 * (an event id is a random UUID), which made these inserts a quarter of a checkout's
 * read-model cost (bench/lib/checkout-writes.ts, docs/BENCHMARKS.md).
 */
export const pointHistoryProjection: Projection = {
  name: POINT_HISTORY,
  collections: [{ name: POINT_HISTORY, indexes: [['userId', 'position']] }],
  eventTypes: new Set<WalletEvent['type']>(['PointsCharged', 'PointsUsed', 'PointsRefunded']),
  async apply(stored, view) {
    const event = stored as unknown as WalletEvent;
    const { data } = event;
    const doc: PointHistoryDoc = {
      id: stored.position,
      userId: data.userId,
      type: entryType(event),
      amount: data.amount,
      balanceAfter: data.balanceAfter,
      ...('orderId' in data ? { orderId: data.orderId } : {}),
      occurredAt: data.occurredAt,
      position: stored.position,
    };
    view.upsert(POINT_HISTORY, doc);
  },
};
