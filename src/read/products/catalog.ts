import { PRODUCTS, ProductDoc, productCacheKeys } from '../../../projections/products';
import { InMemoryReader } from '../../shared/cache/in-memory';
import { Cache } from '../../shared/cache/port';
import { DocumentStore, Page } from '../../shared/documents/port';
import { Product, toProduct } from '../../write/product/view';

/**
 * Backstops only: the products projection invalidates on every change. Pages live shorter
 * because one missed invalidation there would misstate many products at once.
 */
const PRODUCT_TTL_MS = 10_000;
const PAGE_TTL_MS = 3_000;

const LIST_ORDER = { field: 'listPosition', direction: 'asc' } as const;

/**
 * Catalogue reads through the cache. What is cached is the response body itself, so a hit
 * costs one cache get and the JSON send.
 */
export class ProductCatalog {
  constructor(
    private readonly documents: DocumentStore,
    private readonly cache: Cache,
    private readonly memory: InMemoryReader,
  ) {}

  /** `fresh`: straight from the read model, for a reader of its own writes (see RouteInput). */
  product(id: string, fresh = false): Promise<Product | undefined> {
    const load = async () => {
      const doc = await this.documents.get<ProductDoc>(PRODUCTS, id);
      return doc ? toProduct(doc.id, doc) : undefined;
    };
    return fresh ? load() : this.cache.getOrLoad(productCacheKeys.product(id), PRODUCT_TTL_MS, load);
  }

  /** The product as this process already holds it, without I/O; undefined when it must be loaded. */
  productInMemory(id: string): Product | undefined {
    return this.memory.peek<Product>(productCacheKeys.product(id))?.value;
  }

  /** The page as this process already holds it, without I/O; undefined when it must be loaded. */
  pageInMemory(limit: number, cursor: string | undefined): Page<Product> | undefined {
    const version = this.memory.peekVersion(productCacheKeys.listVersion);
    return version === undefined ? undefined : this.memory.peek<Page<Product>>(productCacheKeys.page(version, limit, cursor))?.value;
  }

  async page(limit: number, cursor: string | undefined, fresh = false): Promise<Page<Product>> {
    const load = async () => {
      const page = await this.documents.find<ProductDoc>(PRODUCTS, { sort: LIST_ORDER, limit, cursor });
      return { items: page.items.map((doc) => toProduct(doc.id, doc)), nextCursor: page.nextCursor };
    };
    if (fresh) return load();
    // The version is read before the page is loaded: a change committed after that bumps it,
    // so a page loaded too early is kept under a version no reader asks for any more.
    const version = await this.cache.version(productCacheKeys.listVersion);
    if (version === null) return load();
    return this.cache.getOrLoad(productCacheKeys.page(version, limit, cursor), PAGE_TTL_MS, load);
  }
}
