import { Command } from '../../shared/domain/decider';

export interface ProductLimits {
  /** Highest price a product may have. */
  readonly maxPrice: number;
  /** Most stock one registration or one restock may add. */
  readonly maxStockPerRequest: number;
}

/** The limits the admin endpoints apply (and document in their schemas). */
export const PRODUCT_LIMITS: ProductLimits = { maxPrice: 1_000_000_000, maxStockPerRequest: 1_000_000 };

export const PRODUCT_NAME_MAX_LENGTH = 200;

export type RegisterProduct = Command<
  'RegisterProduct',
  { productId: string; name: string; price: number; stock: number; limits: ProductLimits; now: string }
>;
/** Changes the name, the price or both; an absent field keeps its value. */
export type UpdateProduct = Command<
  'UpdateProduct',
  { productId: string; name?: string; price?: number; limits: ProductLimits; now: string }
>;
export type AddStock = Command<'AddStock', { productId: string; quantity: number; limits: ProductLimits; now: string }>;
/** Issued by payment: takes stock for one order, at most once per order. */
export type DecreaseStock = Command<'DecreaseStock', { productId: string; orderId: string; quantity: number; now: string }>;
/** Issued by cancellation: gives back what one order took, at most once. */
export type RestoreStock = Command<'RestoreStock', { productId: string; orderId: string; now: string }>;

export type ProductCommand = RegisterProduct | UpdateProduct | AddStock | DecreaseStock | RestoreStock;
