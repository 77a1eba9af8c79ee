import { WalletEvent } from '../src/write/wallet/events';
import { projection, ProjectionView } from './projection';

export const BALANCES = 'balances';

export type BalanceDoc = {
  readonly id: string;
  readonly userId: string;
  readonly balance: number;
  readonly updatedAt: string;
};

const copyBalance = ({ data }: WalletEvent, view: ProjectionView) => {
  const doc: BalanceDoc = { id: data.userId, userId: data.userId, balance: data.balanceAfter, updatedAt: data.occurredAt };
  view.upsert(BALANCES, doc);
};

/** Wallet events carry the balance after them, so the view is a copy of the latest one. */
export const balancesProjection = projection<WalletEvent>({
  name: BALANCES,
  collections: [{ name: BALANCES, indexes: [] }],
  handlers: { PointsCharged: copyBalance, PointsUsed: copyBalance, PointsRefunded: copyBalance },
});
