import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

/**
 * Values the OpenAPI examples share, so that the document's examples tell one story: alice's
 * order of product P, paid with coupon C. The ids are shaped as the server makes them.
 */
export const EXAMPLE = {
  userId: 'alice',
  productId: '0193a5c2-7b1e-4c4a-9d2f-3e8b5a6c1d20',
  couponId: '7f3d2a10-5c8e-4b91-a6d4-2e9f0b7c3a58',
  orderId: '5b0c1f7e-2d43-4c8a-9f61-8a7d3e2b9c14',
  instant: '2026-12-03T18:12:40.512Z',
  position: '1042',
  idempotencyKey: '8d5c7e2a-4f1b-4e3c-9a6d-2b7f0c1e5a94',
  cursor: 'eyJmIjoiY3JlYXRlZEF0IiwiZCI6ImRlc2MiLCJ2IjoiMjAyNi0xMi0wM1QxODoxMjo0MC41MTJaIiwiaWQiOiI1YjBjMWY3ZS0yZDQzLTRjOGEtOWY2MS04YTdkM2UyYjljMTQifQ',
} as const;

/** An ISO-8601 instant as the server writes them (UTC, milliseconds). */
export const instantOutSchema = z.string().openapi({ example: EXAMPLE.instant });

export const problemSchema = z
  .object({
    type: z.string().openapi({ example: 'https://eventmart.dev/problems/out-of-stock' }),
    title: z.string().openapi({ example: 'Conflict' }),
    status: z.number().int().openapi({ example: 409 }),
    detail: z.string().openapi({ example: 'only 2 left of Mechanical keyboard' }),
    code: z.string().openapi({ example: 'OUT_OF_STOCK' }),
    errors: z
      .array(
        z.object({
          in: z.string().openapi({ example: 'body' }),
          path: z.string().openapi({ example: 'amount' }),
          message: z.string().openapi({ example: 'Too small: expected number to be >=1' }),
        }),
      )
      .optional(),
    position: z
      .string()
      .optional()
      .openapi({
        description: 'CONSISTENCY_TIMEOUT: the position waited for. A refused payment: the position of the PaymentFailed it recorded, which the payer\'s next read waits for.',
        example: EXAMPLE.position,
      }),
  })
  .openapi('Problem');

export const positionSchema = z
  .string()
  .openapi({ description: 'Global log position of the write; send it back in X-Consistent-With to read your own write.', example: EXAMPLE.position });

export const listQuerySchema = z.strictObject({
  cursor: z.string().max(512).optional().openapi({ param: { example: EXAMPLE.cursor } }),
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ param: { example: 20 } }),
});

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().openapi({ description: 'Send as `cursor` for the next page; null on the last one', example: EXAMPLE.cursor }),
  });
