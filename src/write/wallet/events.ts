import { DomainEvent } from '../../shared/domain/decider';

/** Every wallet event carries the balance after it, so views are a plain copy and replays are idempotent. */
export type PointsCharged = DomainEvent<
  'PointsCharged',
  { userId: string; amount: number; balanceAfter: number; occurredAt: string }
>;
export type PointsUsed = DomainEvent<
  'PointsUsed',
  { userId: string; amount: number; orderId: string; balanceAfter: number; occurredAt: string }
>;
export type PointsRefunded = DomainEvent<
  'PointsRefunded',
  { userId: string; amount: number; orderId: string; balanceAfter: number; occurredAt: string }
>;

export type WalletEvent = PointsCharged | PointsUsed | PointsRefunded;
