import { Cache } from '../src/shared/cache/port';
import { unreachable } from '../src/shared/domain/decider';
import { Recorded } from '../src/shared/eventstore/recorded';
import { ProductEvent } from '../src/write/product/events';
import { projection, ProjectionView } from './projection';

export const PRODUCTS = 'products';

export type ProductDoc = {
  readonly id: string;
  readonly name: string;
  readonly price: number;
  readonly stock: number;
  /**
   * Log position of the registration: assigned in increasing order and never changed, so a
   * keyset cursor on it lists every product exactly once even while products are added.
   */
  readonly listPosition: string;
  readonly updatedAt: string;
};

/**
 * The cache keys over this read model. One key per product; list pages carry the list version
 * in their key, so one bump retires every cached page whatever its limit and cursor.
 */
export const productCacheKeys = {
  product: (id: string) => `product:${id}`,
  listVersion: 'products:list',
  page: (version: number, limit: number, cursor: string | undefined) => `products:list:${version}:${limit}:${cursor ?? ''}`,
};

function next(event: ProductEvent, current: ProductDoc | null, position: string): ProductDoc {
  const { productId, occurredAt } = event.data;
  if (event.type === 'ProductRegistered') {
    const { name, price, stock } = event.data;
    return { id: productId, name, price, stock, listPosition: position, updatedAt: occurredAt };
  }
  // The decider refuses every command on a product before its registration.
  if (!current) throw new Error(`${event.type} for product ${productId}, which was never registered`);
  switch (event.type) {
    case 'ProductUpdated':
      return { ...current, name: event.data.name, price: event.data.price, updatedAt: occurredAt };
    case 'StockAdded':
    case 'StockDecreased':
    case 'StockRestored':
      return { ...current, stock: event.data.stockAfter, updatedAt: occurredAt };
    default:
      return unreachable(event);
  }
}

async function copy(event: Recorded<ProductEvent>, view: ProjectionView): Promise<void> {
  const current = event.type === 'ProductRegistered' ? null : await view.get<ProductDoc>(PRODUCTS, event.data.productId);
  view.upsert(PRODUCTS, next(event, current, event.position));
}

/**
 * Products for the catalogue, a copy of each product's latest values. Once a batch is
 * committed the cached product and every cached page are invalidated, so a cached read is
 * never staler than this projection's lag (TTLs only bound entries an invalidation missed).
 */
export const productsProjection = (cache: Cache) => projection<ProductEvent>({
  name: PRODUCTS,
  collections: [{ name: PRODUCTS, indexes: [['listPosition']] }],
  handlers: { ProductRegistered: copy, ProductUpdated: copy, StockAdded: copy, StockDecreased: copy, StockRestored: copy },
  async afterCommit(events) {
    const changed = new Set(events.map((event) => event.data.productId));
    await cache.invalidate({ keys: [...changed].map((id) => productCacheKeys.product(id)), versions: [productCacheKeys.listVersion] });
  },
});
