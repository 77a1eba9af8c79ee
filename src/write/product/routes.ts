import { z } from 'zod';
import { Principal } from '../../shared/auth/tokens';
import type { AppServices } from '../../composition/services';
import { defineRoute } from '../../shared/http/route';
import { productIdParams, productWrittenSchema, toProduct } from './view';
import { PRODUCT_LIMITS, PRODUCT_NAME_MAX_LENGTH, ProductCommand } from './commands';
import { productDecider } from './decider';

const nameSchema = z.string().trim().min(1).max(PRODUCT_NAME_MAX_LENGTH).openapi({ description: 'Stored without surrounding spaces', example: 'Mechanical keyboard' });
const priceSchema = z.number().int().min(0).max(PRODUCT_LIMITS.maxPrice).openapi({ description: 'KRW', example: 89_000 });
const stockSchema = (min: number, description: string, example: number) =>
  z.number().int().min(min).max(PRODUCT_LIMITS.maxStockPerRequest).openapi({ description, example });

export const productRoutes = ({ clock, ids, commands }: AppServices) => {
  /** Runs an admin's command and answers with the product after it and the position of the write. */
  const run = async (productId: string, command: ProductCommand, user: Principal, idSeed: string | undefined) => {
    const result = await commands.handle(productDecider, productId, command, {
      idSeed,
      metadata: { actorId: user.userId, role: user.role },
    });
    return { ...toProduct(productId, result.state), position: result.position! };
  };

  return [
    defineRoute({
      method: 'post',
      path: '/admin/products',
      operationId: 'registerProduct',
      summary: 'Register a product',
      tags: ['Products', 'Admin'],
      access: 'admin',
      idempotent: true,
      body: z.strictObject({ name: nameSchema, price: priceSchema, stock: stockSchema(0, 'Initial stock', 25) }),
      response: { status: 201, description: 'The registered product', schema: productWrittenSchema },
      errors: { 409: ['PRODUCT_ALREADY_EXISTS'] },
      async handle({ body, user, idSeed }) {
        const productId = ids.newId();
        const now = clock.now().toISOString();
        const command: ProductCommand = { type: 'RegisterProduct', data: { productId, ...body, limits: PRODUCT_LIMITS, now } };
        return { status: 201, body: await run(productId, command, user, idSeed) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/admin/products/{id}',
      operationId: 'updateProduct',
      summary: "Change a product's name, price or both",
      tags: ['Products', 'Admin'],
      access: 'admin',
      idempotent: true,
      params: productIdParams,
      body: z
        .strictObject({ name: nameSchema.optional(), price: priceSchema.optional() })
        .refine((change) => change.name !== undefined || change.price !== undefined, { message: 'send name, price or both' })
        .openapi({ description: 'At least one of name and price; an absent field keeps its value' }),
      response: { status: 200, description: 'The product after the change', schema: productWrittenSchema },
      errors: { 404: ['PRODUCT_NOT_FOUND'] },
      async handle({ params, body, user, idSeed }) {
        const now = clock.now().toISOString();
        const command: ProductCommand = { type: 'UpdateProduct', data: { productId: params.id, ...body, limits: PRODUCT_LIMITS, now } };
        return { status: 200, body: await run(params.id, command, user, idSeed) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/admin/products/{id}/restock',
      operationId: 'restockProduct',
      summary: 'Add stock to a product',
      tags: ['Products', 'Admin'],
      access: 'admin',
      idempotent: true,
      params: productIdParams,
      body: z.strictObject({ quantity: stockSchema(1, 'Units to add', 10) }),
      response: { status: 200, description: 'The product after the restock', schema: productWrittenSchema },
      errors: { 404: ['PRODUCT_NOT_FOUND'], 409: ['STOCK_LIMIT'] },
      async handle({ params, body, user, idSeed }) {
        const now = clock.now().toISOString();
        const command: ProductCommand = { type: 'AddStock', data: { productId: params.id, quantity: body.quantity, limits: PRODUCT_LIMITS, now } };
        return { status: 200, body: await run(params.id, command, user, idSeed) };
      },
    }),
  ];
};
