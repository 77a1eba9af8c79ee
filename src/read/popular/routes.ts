import { z } from 'zod';
import { PRODUCTS, ProductDoc } from '../../../projections/products';
import type { AppServices } from '../../composition/services';
import { DAILY_SALES } from '../../../projections/ranking/documents';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, instantOutSchema } from '../../shared/http/schemas';
import { checkRanking } from '../../operations/popular-check';
import { windowDays } from '../../shared/time/window';

const popularSchema = z.object({
  days: z.number().int().openapi({ example: 3 }),
  limit: z.number().int().openapi({ example: 5 }),
  generatedAt: instantOutSchema,
  items: z.array(
    z.object({
      rank: z.number().int().openapi({ example: 1 }),
      productId: z.string().openapi({ example: EXAMPLE.productId }),
      name: z.string().openapi({ example: 'Mechanical keyboard' }),
      price: z.number().int().openapi({ example: 89_000 }),
      soldQuantity: z.number().int().openapi({ example: 12 }),
    }),
  ),
});

const rankingKey = ({ days, limit }: { days: number; limit: number }) => `popular:${days}:${limit}`;

export const popularRoutes = ({ config, clock, cache, cacheInMemory, ranking, documents, events }: AppServices) => {
  /** Computed from the pre-aggregated daily counts at most once per refresh period per (days, limit), then served from the cache. */
  const compute = async (days: number, limit: number) => {
    const now = clock.now();
    const top = await ranking.top(windowDays(now, days, config.POPULAR_TIMEZONE), limit);
    const products = new Map((await documents.getMany<ProductDoc>(PRODUCTS, top.map((entry) => entry.productId))).map((p) => [p.id, p]));
    return {
      days,
      limit,
      generatedAt: now.toISOString(),
      items: top.map((entry, index) => ({
        rank: index + 1,
        productId: entry.productId,
        name: products.get(entry.productId)?.name ?? '',
        price: products.get(entry.productId)?.price ?? 0,
        soldQuantity: entry.quantity,
      })),
    };
  };

  return [
    defineRoute({
      method: 'get',
      path: '/products/popular',
      operationId: 'listPopularProducts',
      summary: 'Top products by quantity sold in paid, not cancelled orders over the last N days',
      tags: ['Products'],
      access: 'public',
      query: z.strictObject({
        days: z.coerce.number().int().min(1).max(30).default(3).openapi({ param: { example: 7 } }),
        limit: z.coerce.number().int().min(1).max(50).default(5).openapi({ param: { example: 10 } }),
      }),
      response: { status: 200, description: 'The ranking; generatedAt says how fresh it is', schema: popularSchema },
      async handle({ query }) {
        const body = await cache.getOrLoad(rankingKey(query), config.POPULAR_REFRESH_MS, () => compute(query.days, query.limit));
        return { status: 200, body };
      },
      fromMemory({ query }) {
        const ranking = cacheInMemory.peek(rankingKey(query));
        return ranking && { status: 200, body: ranking.value };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/admin/popular-products/check',
      operationId: 'checkPopularProducts',
      summary: 'Compare the live ranking with a brute-force recount over the order events',
      tags: ['Admin'],
      access: 'admin',
      readsFrom: [DAILY_SALES],
      query: z.strictObject({ days: z.coerce.number().int().min(1).max(30).default(30).openapi({ param: { example: 7 } }) }),
      response: {
        status: 200,
        description: 'consistent is true when every product matches; otherwise the products that differ',
        schema: z.object({
          days: z.number().int().openapi({ example: 30 }),
          consistent: z.boolean().openapi({ example: true }),
          differences: z.array(
            z.object({
              productId: z.string().openapi({ example: EXAMPLE.productId }),
              live: z.number().int().openapi({ example: 12 }),
              recounted: z.number().int().openapi({ example: 12 }),
            }),
          ),
        }),
      },
      async handle({ query }) {
        const differences = await checkRanking(events, ranking, windowDays(clock.now(), query.days, config.POPULAR_TIMEZONE), config.POPULAR_TIMEZONE);
        return { status: 200, body: { days: query.days, consistent: differences.length === 0, differences } };
      },
    }),
  ];
};
