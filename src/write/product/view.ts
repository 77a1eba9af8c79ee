import { z } from 'zod';
import { EXAMPLE, positionSchema } from '../../shared/http/schemas';

/** The product as every endpoint shows it, read or write. */
export const productSchema = z
  .object({
    id: z.string().openapi({ example: EXAMPLE.productId }),
    name: z.string().openapi({ example: 'Mechanical keyboard' }),
    price: z.number().int().openapi({ description: 'KRW', example: 89_000 }),
    stock: z.number().int().openapi({ example: 24 }),
    status: z.enum(['ON_SALE', 'SOLD_OUT']),
  })
  .openapi('Product');

export type Product = z.infer<typeof productSchema>;

export const productWrittenSchema = productSchema.extend({ position: positionSchema });

export const productIdParams = z.strictObject({ id: z.string().min(1).max(100).openapi({ param: { example: EXAMPLE.productId } }) });

export const toProduct = (id: string, { name, price, stock }: { name: string; price: number; stock: number }): Product => ({
  id,
  name,
  price,
  stock,
  status: stock > 0 ? 'ON_SALE' : 'SOLD_OUT',
});
