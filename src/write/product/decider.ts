import { Decider, unreachable } from '../../shared/domain/decider';
import { DomainError, DomainErrorCode } from '../../shared/domain/errors';
import { AddStock, DecreaseStock, PRODUCT_NAME_MAX_LENGTH, ProductCommand, RegisterProduct, RestoreStock, UpdateProduct } from './commands';
import { ProductEvent } from './events';
import { PersistentMap } from '../../shared/domain/persistent-map';

export interface ProductState {
  readonly exists: boolean;
  readonly name: string;
  readonly price: number;
  readonly stock: number;
  /**
   * Every order that took stock, with the quantity it has not given back yet (0 once restored):
   * taking twice for one order is a no-op, and this is what a cancellation restores. Persistent
   * (each change shares all but one path with the state before), because a product keeps one
   * entry per order for ever: copying a Map per StockDecreased made each order cost O(orders so
   * far) and a cold load quadratic (docs/BENCHMARKS.md, "Profiling and what was fixed").
   */
  readonly takenBy: PersistentMap<number>;
}

export const productStream = (productId: string) => `product-${productId}`;

const initialState: ProductState = { exists: false, name: '', price: 0, stock: 0, takenBy: PersistentMap.empty() };

function requireWhole(value: number, min: number, max: number, code: DomainErrorCode, what: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new DomainError(code, 'invalid', `${what} must be a whole number from ${min} to ${max}`, { min, max });
  }
}

/** Names are stored trimmed, so " Mug " and "Mug" are the same name. */
function validName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed.length < 1 || trimmed.length > PRODUCT_NAME_MAX_LENGTH) {
    throw new DomainError('PRODUCT_NAME_INVALID', 'invalid', `the name must have 1 to ${PRODUCT_NAME_MAX_LENGTH} characters besides surrounding spaces`);
  }
  return trimmed;
}

const requirePrice = (price: number, maxPrice: number) => requireWhole(price, 0, maxPrice, 'PRODUCT_PRICE_INVALID', 'the price');

function requireExisting(productId: string, state: ProductState): void {
  if (!state.exists) throw new DomainError('PRODUCT_NOT_FOUND', 'not_found', `no product ${productId}`, { productId });
}

function register({ data }: RegisterProduct, state: ProductState): ProductEvent[] {
  if (state.exists) {
    throw new DomainError('PRODUCT_ALREADY_EXISTS', 'conflict', `product ${data.productId} is already registered`, { productId: data.productId });
  }
  const name = validName(data.name);
  requirePrice(data.price, data.limits.maxPrice);
  requireWhole(data.stock, 0, data.limits.maxStockPerRequest, 'STOCK_QUANTITY_INVALID', 'the initial stock');
  return [{ type: 'ProductRegistered', data: { productId: data.productId, name, price: data.price, stock: data.stock, occurredAt: data.now } }];
}

function update({ data }: UpdateProduct, state: ProductState): ProductEvent[] {
  requireExisting(data.productId, state);
  const name = data.name === undefined ? state.name : validName(data.name);
  if (data.price !== undefined) requirePrice(data.price, data.limits.maxPrice);
  const price = data.price ?? state.price;
  if (name === state.name && price === state.price) return [];
  return [{ type: 'ProductUpdated', data: { productId: data.productId, name, price, occurredAt: data.now } }];
}

function addStock({ data }: AddStock, state: ProductState): ProductEvent[] {
  requireExisting(data.productId, state);
  requireWhole(data.quantity, 1, data.limits.maxStockPerRequest, 'STOCK_QUANTITY_INVALID', 'the quantity');
  const stockAfter = state.stock + data.quantity;
  if (!Number.isSafeInteger(stockAfter)) {
    throw new DomainError('STOCK_LIMIT', 'conflict', 'the stock would be larger than this system can count', { productId: data.productId, stock: state.stock });
  }
  return [{ type: 'StockAdded', data: { productId: data.productId, quantity: data.quantity, stockAfter, occurredAt: data.now } }];
}

function decrease({ data }: DecreaseStock, state: ProductState): ProductEvent[] {
  requireExisting(data.productId, state);
  requireWhole(data.quantity, 1, Number.MAX_SAFE_INTEGER, 'STOCK_QUANTITY_INVALID', 'the quantity');
  if (state.takenBy.has(data.orderId)) return [];
  if (data.quantity > state.stock) {
    throw new DomainError('OUT_OF_STOCK', 'conflict', `only ${state.stock} left of product ${data.productId}`, {
      productId: data.productId,
      requested: data.quantity,
      available: state.stock,
    });
  }
  return [
    {
      type: 'StockDecreased',
      data: { productId: data.productId, orderId: data.orderId, quantity: data.quantity, stockAfter: state.stock - data.quantity, occurredAt: data.now },
    },
  ];
}

function restore({ data }: RestoreStock, state: ProductState): ProductEvent[] {
  requireExisting(data.productId, state);
  const quantity = state.takenBy.get(data.orderId);
  if (quantity === undefined || quantity === 0) return [];
  return [
    {
      type: 'StockRestored',
      data: { productId: data.productId, orderId: data.orderId, quantity, stockAfter: state.stock + quantity, occurredAt: data.now },
    },
  ];
}

/**
 * One product and its stock. Payment and cancellation call `decide` with DecreaseStock and
 * RestoreStock themselves and append the events together with the order's, each stream with
 * its own expected revision, so stock and order can never disagree.
 */
export const productDecider: Decider<ProductCommand, ProductEvent, ProductState> = {
  category: 'product',
  initialState,
  decide(command, state) {
    switch (command.type) {
      case 'RegisterProduct':
        return register(command, state);
      case 'UpdateProduct':
        return update(command, state);
      case 'AddStock':
        return addStock(command, state);
      case 'DecreaseStock':
        return decrease(command, state);
      case 'RestoreStock':
        return restore(command, state);
      default:
        return unreachable(command);
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'ProductRegistered':
        return { ...state, exists: true, name: event.data.name, price: event.data.price, stock: event.data.stock };
      case 'ProductUpdated':
        return { ...state, name: event.data.name, price: event.data.price };
      case 'StockAdded':
        return { ...state, stock: event.data.stockAfter };
      case 'StockDecreased':
        return { ...state, stock: event.data.stockAfter, takenBy: state.takenBy.set(event.data.orderId, event.data.quantity) };
      case 'StockRestored':
        return { ...state, stock: event.data.stockAfter, takenBy: state.takenBy.set(event.data.orderId, 0) };
      default:
        return unreachable(event);
    }
  },
};
