import { Decider, unreachable } from '../../shared/domain/decider';
import { DomainError } from '../../shared/domain/errors';
import { ChargePoints, RefundPoints, UsePoints, WalletCommand } from './commands';
import { WalletEvent } from './events';

export interface WalletState {
  readonly balance: number;
  /** Amount used per order not yet refunded: what a cancellation may give back. */
  readonly refundable: ReadonlyMap<string, number>;
  /** Orders that already used points (refunded or not): using twice for one order is a no-op. */
  readonly usedFor: ReadonlySet<string>;
}

export const walletStream = (userId: string) => `wallet-${userId}`;

const initialState: WalletState = { balance: 0, refundable: new Map(), usedFor: new Set() };

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
  if (state.usedFor.has(data.orderId)) return [];
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
  const amount = state.refundable.get(data.orderId);
  if (amount === undefined) return [];
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
      case 'PointsUsed': {
        const refundable = new Map(state.refundable).set(event.data.orderId, event.data.amount);
        const usedFor = new Set(state.usedFor).add(event.data.orderId);
        return { balance: event.data.balanceAfter, refundable, usedFor };
      }
      case 'PointsRefunded': {
        const refundable = new Map(state.refundable);
        refundable.delete(event.data.orderId);
        return { ...state, balance: event.data.balanceAfter, refundable };
      }
      default:
        return unreachable(event);
    }
  },
};
