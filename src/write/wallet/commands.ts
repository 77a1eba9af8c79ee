import { Command } from '../../shared/domain/decider';

export interface WalletLimits {
  /** Largest single charge. */
  readonly maxCharge: number;
  /** Largest balance a wallet may hold. */
  readonly balanceCap: number;
}

export type ChargePoints = Command<'ChargePoints', { userId: string; amount: number; limits: WalletLimits; now: string }>;
/** Issued by payment: spends points for one order, at most once per order. */
export type UsePoints = Command<'UsePoints', { userId: string; amount: number; orderId: string; now: string }>;
/** Issued by cancellation: gives back what one order used, at most once. */
export type RefundPoints = Command<'RefundPoints', { userId: string; orderId: string; now: string }>;

export type WalletCommand = ChargePoints | UsePoints | RefundPoints;
