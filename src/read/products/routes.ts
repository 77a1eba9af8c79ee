import { z } from 'zod';
import { PRODUCTS } from '../../../projections/products';
import { STOCK_HISTORY, StockHistoryDoc } from '../../../projections/stock-history';
import type { AppServices } from '../../composition/services';
import { DomainError } from '../../shared/domain/errors';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, instantOutSchema, listQuerySchema, pageSchema } from '../../shared/http/schemas';
import { ProductCatalog } from './catalog';
import { productIdParams, productSchema } from '../../write/product/view';

const stockChangeSchema = z.object({
  delta: z.number().int().openapi({ example: -1 }),
  reason: z.enum(['REGISTERED', 'RESTOCK', 'ORDER', 'CANCEL']),
  orderId: z.string().optional().openapi({ example: EXAMPLE.orderId }),
  stockAfter: z.number().int().openapi({ example: 24 }),
  occurredAt: instantOutSchema,
});

const notFound = (id: string) => new DomainError('PRODUCT_NOT_FOUND', 'not_found', `no product ${id}`, { productId: id });

export const productQueryRoutes = ({ documents, cache, cacheInMemory }: AppServices) => {
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
      readsFrom: [STOCK_HISTORY],
      params: productIdParams,
      query: listQuerySchema,
      response: { status: 200, description: 'One page of stock changes', schema: pageSchema(stockChangeSchema) },
      errors: { 404: ['PRODUCT_NOT_FOUND'] },
      async handle({ params, query }) {
        const page = await documents.find<StockHistoryDoc>(STOCK_HISTORY, {
          where: { productId: params.id },
          sort: { field: 'position', direction: 'desc' },
          limit: query.limit,
          cursor: query.cursor,
        });
        // Every product's history starts with its registration, and a cursor we issued always
        // has older entries after it (history is only ever added to at the new end): an empty
        // page means no such product.
        if (page.items.length === 0) throw notFound(params.id);
        return {
          status: 200,
          body: {
            items: page.items.map(({ delta, reason, orderId, stockAfter, occurredAt }) => ({ delta, reason, orderId, stockAfter, occurredAt })),
            nextCursor: page.nextCursor,
          },
        };
      },
    }),
  ];
};
