import { Decider, unreachable } from '../../shared/domain/decider';
import { DomainError } from '../../shared/domain/errors';
import { ChargePoints, RefundPoints, UsePoints, WalletCommand } from './commands';
import { WalletEvent } from './events';
import { PersistentMap } from '../../shared/domain/persistent-map';

export interface WalletState {
  readonly balance: number;
  /**
   * Every order that used points, with the amount not refunded yet (0 once refunded): using
   * twice for one order is a no-op, and this is what a cancellation gives back. Persistent, so
   * that a wallet with many orders does not copy them all on every payment (see ProductState).
   */
  readonly spentBy: PersistentMap<number>;
}

export const walletStream = (userId: string) => `wallet-${userId}`;

const initialState: WalletState = { balance: 0, spentBy: PersistentMap.empty() };

const requirePositiveInteger = (amount: number) => {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new DomainError('POINTS_AMOUNT_INVALID', 'invalid', 'the amount must be a positive whole number of points');
  }
};

function charge({ data }: ChargePoints, state: WalletState): WalletEvent[] {
  requirePositiveInteger(data.amount);
  if (data.amount > data.limits.maxCharge) {
    throw new DomainError('POINTS_AMOUNT_INVALID', 'invalid', `one charge may add at most ${data.limits.maxCharge} points`, {
      maxCharge: data.limits.maxCharge,
    });
  }
  const balanceAfter = state.balance + data.amount;
  if (balanceAfter > data.limits.balanceCap) {
    throw new DomainError('POINTS_BALANCE_LIMIT', 'conflict', `the balance may not exceed ${data.limits.balanceCap} points`, {
      balance: state.balance,
      balanceCap: data.limits.balanceCap,
    });
  }
  return [{ type: 'PointsCharged', data: { userId: data.userId, amount: data.amount, balanceAfter, occurredAt: data.now } }];
}

function use({ data }: UsePoints, state: WalletState): WalletEvent[] {
  requirePositiveInteger(data.amount);
  if (state.spentBy.has(data.orderId)) return [];
  if (data.amount > state.balance) {
    throw new DomainError('POINTS_INSUFFICIENT', 'conflict', 'the balance does not cover the amount', {
      balance: state.balance,
      required: data.amount,
    });
  }
  return [
    {
      type: 'PointsUsed',
      data: { userId: data.userId, amount: data.amount, orderId: data.orderId, balanceAfter: state.balance - data.amount, occurredAt: data.now },
    },
  ];
}

function refund({ data }: RefundPoints, state: WalletState): WalletEvent[] {
  const amount = state.spentBy.get(data.orderId);
  if (amount === undefined || amount === 0) return [];
  return [
    {
      type: 'PointsRefunded',
      data: { userId: data.userId, amount, orderId: data.orderId, balanceAfter: state.balance + amount, occurredAt: data.now },
    },
  ];
}

export const walletDecider: Decider<WalletCommand, WalletEvent, WalletState> = {
  category: 'wallet',
  initialState,
  decide(command, state) {
    switch (command.type) {
      case 'ChargePoints':
        return charge(command, state);
      case 'UsePoints':
        return use(command, state);
      case 'RefundPoints':
        return refund(command, state);
      default:
        return unreachable(command);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'PointsCharged':
        return { ...state, balance: event.data.balanceAfter };
      case 'PointsUsed':
        return { balance: event.data.balanceAfter, spentBy: state.spentBy.set(event.data.orderId, event.data.amount) };
      case 'PointsRefunded':
        return { balance: event.data.balanceAfter, spentBy: state.spentBy.set(event.data.orderId, 0) };
      default:
        return unreachable(event);
    }
  },
};
