import { z } from 'zod';
// Also for its side effect: zod schemas get .openapi().
import { EXAMPLE, instantOutSchema } from '../../shared/http/schemas';
import { COUPON_LIMITS } from './term-rules';

/** Coupon ids end up in stream names and Redis keys: a plain, bounded alphabet. */
export const couponIdSchema = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (1..64)')
  .openapi({ param: { example: EXAMPLE.couponId } });

const amount = z.number().int().min(1).max(COUPON_LIMITS.maxAmount).openapi({ example: 5_000 });

export const discountSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('FIXED'), amount }),
    z.strictObject({
      type: z.literal('PERCENT'),
      percent: z.number().int().min(1).max(100).openapi({ example: 10 }),
      maxDiscount: amount.optional().openapi({ example: 20_000 }),
    }),
  ])
  .openapi('CouponDiscount', {
    description: 'FIXED takes `amount`; PERCENT takes floor(subtotal * percent / 100), at most `maxDiscount`; never more than the subtotal.',
  });

/** Any ISO-8601 instant with a zone, stored as UTC with milliseconds so that instants compare as strings too. */
export const instantSchema = z.iso.datetime({ offset: true }).max(64).transform((value) => new Date(value).toISOString());

const nullableInstant = instantOutSchema.nullable();

/** The public view of a coupon's terms (absent options are null). */
export const couponTermsSchema = z.object({
  couponId: z.string().openapi({ example: EXAMPLE.couponId }),
  name: z.string().openapi({ example: 'Winter sale: 10% off, up to 20,000' }),
  discount: discountSchema,
  minOrderAmount: z.number().int().openapi({ example: 30_000 }),
  totalQuantity: z.number().int().openapi({ example: 100 }),
  issueStartsAt: nullableInstant,
  issueEndsAt: nullableInstant,
  validUntil: nullableInstant.openapi({ description: 'A fixed end of validity; null with validDays or when the coupon never expires', example: null }),
  validDays: z.number().int().nullable().openapi({ description: 'Days of validity counted from each issue', example: 7 }),
});
