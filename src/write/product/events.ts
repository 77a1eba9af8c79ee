import { DomainEvent } from '../../shared/domain/decider';

/**
 * Events carry the values after them (name and price, or stockAfter), so views are a plain
 * copy and a replayed event is idempotent. A registration's `stock` is its stock after.
 */
export type ProductRegistered = DomainEvent<
  'ProductRegistered',
  { productId: string; name: string; price: number; stock: number; occurredAt: string }
>;
export type ProductUpdated = DomainEvent<'ProductUpdated', { productId: string; name: string; price: number; occurredAt: string }>;
export type StockAdded = DomainEvent<'StockAdded', { productId: string; quantity: number; stockAfter: number; occurredAt: string }>;
export type StockDecreased = DomainEvent<
  'StockDecreased',
  { productId: string; orderId: string; quantity: number; stockAfter: number; occurredAt: string }
>;
export type StockRestored = DomainEvent<
  'StockRestored',
  { productId: string; orderId: string; quantity: number; stockAfter: number; occurredAt: string }
>;

export type ProductEvent = ProductRegistered | ProductUpdated | StockAdded | StockDecreased | StockRestored;
