import { WalletEvent } from '../src/write/wallet/events';
import { Projection } from './projection';

export const BALANCES = 'balances';

export type BalanceDoc = {
  readonly id: string;
  readonly userId: string;
  readonly balance: number;
  readonly updatedAt: string;
};

/** Wallet events carry the balance after them, so the view is a copy of the latest one. */
export const balancesProjection: Projection = {
  name: BALANCES,
  collections: [{ name: BALANCES, indexes: [] }],
  eventTypes: new Set<WalletEvent['type']>(['PointsCharged', 'PointsUsed', 'PointsRefunded']),
  async apply(event, view) {
    const { data } = event as unknown as WalletEvent;
    const doc: BalanceDoc = { id: data.userId, userId: data.userId, balance: data.balanceAfter, updatedAt: data.occurredAt };
    view.upsert(BALANCES, doc);
  },
};
