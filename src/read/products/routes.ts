import { z } from 'zod';
import { PRODUCTS } from '../../../projections/products';
import type { AppServices } from '../../composition/services';
import { unreachable } from '../../shared/domain/decider';
import { DomainError } from '../../shared/domain/errors';
import { streamHistory } from '../../shared/eventstore/history';
import { recorded } from '../../shared/eventstore/recorded';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, instantOutSchema, listQuerySchema, pageSchema } from '../../shared/http/schemas';
import { ProductCatalog } from './catalog';
import { productIdParams, productSchema } from '../../write/product/view';
import { productStream } from '../../write/product/decider';
import { ProductEvent } from '../../write/product/events';

const stockChangeSchema = z.object({
  delta: z.number().int().openapi({ example: -1 }),
  reason: z.enum(['REGISTERED', 'RESTOCK', 'ORDER', 'CANCEL']),
  orderId: z.string().optional().openapi({ example: EXAMPLE.orderId }),
  stockAfter: z.number().int().openapi({ example: 24 }),
  occurredAt: instantOutSchema,
});

type StockChange = z.infer<typeof stockChangeSchema>;

/** What a product event did to its stock; null for a change of name or price. */
function stockChange(event: ProductEvent): StockChange | null {
  const { occurredAt } = event.data;
  switch (event.type) {
    case 'ProductRegistered':
      return { delta: event.data.stock, reason: 'REGISTERED', stockAfter: event.data.stock, occurredAt };
    case 'ProductUpdated':
      return null;
    case 'StockAdded':
      return { delta: event.data.quantity, reason: 'RESTOCK', stockAfter: event.data.stockAfter, occurredAt };
    case 'StockDecreased':
      return { delta: -event.data.quantity, reason: 'ORDER', orderId: event.data.orderId, stockAfter: event.data.stockAfter, occurredAt };
    case 'StockRestored':
      return { delta: event.data.quantity, reason: 'CANCEL', orderId: event.data.orderId, stockAfter: event.data.stockAfter, occurredAt };
    default:
      return unreachable(event);
  }
}

const notFound = (id: string) => new DomainError('PRODUCT_NOT_FOUND', 'not_found', `no product ${id}`, { productId: id });

export const productQueryRoutes = ({ documents, events, cache, cacheInMemory }: AppServices) => {
  const catalog = new ProductCatalog(documents, cache, cacheInMemory);
  return [
    defineRoute({
      method: 'get',
      path: '/products',
      operationId: 'listProducts',
      summary: 'The catalogue, in registration order',
      tags: ['Products'],
      access: 'public',
      readsFrom: [PRODUCTS],
      query: listQuerySchema,
      response: { status: 200, description: 'One page of products', schema: pageSchema(productSchema) },
      async handle({ query, fresh }) {
        return { status: 200, body: await catalog.page(query.limit, query.cursor, fresh) };
      },
      fromMemory({ query }) {
        const page = catalog.pageInMemory(query.limit, query.cursor);
        return page && { status: 200, body: page };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/products/{id}',
      operationId: 'getProduct',
      summary: 'One product',
      tags: ['Products'],
      access: 'public',
      readsFrom: [PRODUCTS],
      params: productIdParams,
      response: { status: 200, description: 'The product', schema: productSchema },
      errors: { 404: ['PRODUCT_NOT_FOUND'] },
      async handle({ params, fresh }) {
        const product = await catalog.product(params.id, fresh);
        if (!product) throw notFound(params.id);
        return { status: 200, body: product };
      },
      fromMemory({ params }) {
        const product = catalog.productInMemory(params.id);
        return product && { status: 200, body: product };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/admin/products/{id}/stock-history',
      operationId: 'listStockHistory',
      summary: "A product's stock changes with their reasons, newest first",
      tags: ['Products', 'Admin'],
      access: 'admin',
      params: productIdParams,
      query: listQuerySchema,
      response: { status: 200, description: 'One page of stock changes', schema: pageSchema(stockChangeSchema) },
      errors: { 404: ['PRODUCT_NOT_FOUND'] },
      async handle({ params, query }) {
        // The product's own stream is its stock history; renames and new prices are left out.
        const page = await streamHistory(events, productStream(params.id), query, (event) => stockChange(recorded<ProductEvent>(event)));
        // Every product's history starts with its registration, and a cursor we issued always
        // has older entries after it: an empty page means no such product.
        if (page.items.length === 0) throw notFound(params.id);
        return { status: 200, body: page };
      },
    }),
  ];
};
