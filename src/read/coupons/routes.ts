import { z } from 'zod';
import { COUPONS, CouponDoc } from '../../../projections/coupons';
import { USER_COUPONS, UserCouponDoc } from '../../../projections/user-coupons';
import type { AppServices } from '../../composition/services';
import { Range, Scalar } from '../../shared/documents/port';
import { unreachable } from '../../shared/domain/decider';
import { couponErrors, isValidAt } from '../../write/coupon/decider';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, instantOutSchema, listQuerySchema, pageSchema } from '../../shared/http/schemas';
import { couponIdSchema, couponTermsSchema, discountSchema } from '../../write/coupon/schemas';

const STATUSES = ['AVAILABLE', 'USED', 'EXPIRED'] as const;
type Status = (typeof STATUSES)[number];

const userCouponItem = z.object({
  userCouponId: z.string().openapi({ example: `${EXAMPLE.couponId}:${EXAMPLE.userId}` }),
  couponId: z.string().openapi({ example: EXAMPLE.couponId }),
  name: z.string().openapi({ example: 'Winter sale: 10% off, up to 20,000' }),
  discount: discountSchema,
  minOrderAmount: z.number().int().openapi({ example: 30_000 }),
  validUntil: instantOutSchema.nullable().openapi({ description: 'null: never expires' }),
  valid: z.boolean().openapi({ description: 'Not expired at the time of the request', example: true }),
  used: z.boolean().openapi({ example: true }),
  usedAt: instantOutSchema.optional(),
  orderId: z.string().optional().openapi({ description: 'The order that used it', example: EXAMPLE.orderId }),
  status: z.enum(STATUSES),
  issuedAt: instantOutSchema,
});

/** Each status as a query on the user's coupons; validity is judged by the clock of this request. */
function whereStatus(userId: string, status: Status | undefined, now: string): Record<string, Scalar | Range> {
  switch (status) {
    case undefined:
      return { userId };
    case 'USED':
      return { userId, used: true };
    case 'AVAILABLE':
      return { userId, used: false, expiresAt: { gt: now } };
    case 'EXPIRED':
      return { userId, used: false, expiresAt: { lte: now } };
    default:
      return unreachable(status);
  }
}

const couponSchema = couponTermsSchema.extend({
  issuedQuantity: z.number().int().openapi({ example: 37 }),
  remainingQuantity: z.number().int().openapi({ example: 63 }),
  createdAt: instantOutSchema,
});

const presentCoupon = ({ id: _id, ...coupon }: CouponDoc) => ({ ...coupon, remainingQuantity: coupon.totalQuantity - coupon.issuedQuantity });

export const couponQueryRoutes = ({ documents, clock }: AppServices) => [
  defineRoute({
    method: 'get',
    path: '/admin/coupons',
    operationId: 'listCoupons',
    summary: 'Every coupon campaign with how many are issued and left, newest first',
    tags: ['Coupons', 'Admin'],
    access: 'admin',
    readsFrom: [COUPONS],
    query: listQuerySchema,
    response: { status: 200, description: 'One page of coupons', schema: pageSchema(couponSchema) },
    async handle({ query }) {
      const page = await documents.find<CouponDoc>(COUPONS, { sort: { field: 'createdAt', direction: 'desc' }, limit: query.limit, cursor: query.cursor });
      return { status: 200, body: { items: page.items.map(presentCoupon), nextCursor: page.nextCursor } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/coupons/{couponId}',
    operationId: 'getCoupon',
    summary: 'A coupon, and how many are left',
    tags: ['Coupons'],
    access: 'public',
    readsFrom: [COUPONS],
    params: z.strictObject({ couponId: couponIdSchema }),
    response: { status: 200, description: 'The coupon', schema: couponSchema },
    errors: { 404: ['COUPON_NOT_FOUND'] },
    async handle({ params }) {
      const doc = await documents.get<CouponDoc>(COUPONS, params.couponId);
      if (!doc) throw couponErrors.notFound(params.couponId);
      return { status: 200, body: presentCoupon(doc) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/me/coupons',
    operationId: 'listMyCoupons',
    summary: 'My coupons, newest first',
    tags: ['Coupons'],
    access: 'user',
    readsFrom: [USER_COUPONS],
    query: listQuerySchema.extend({
      status: z
        .enum(STATUSES)
        .optional()
        .openapi({ description: 'AVAILABLE: not used and not expired; USED; EXPIRED: not used and expired', param: { example: 'AVAILABLE' } }),
    }),
    response: { status: 200, description: 'One page of my coupons', schema: pageSchema(userCouponItem) },
    async handle({ user, query }) {
      const now = clock.now().toISOString();
      const page = await documents.find<UserCouponDoc>(USER_COUPONS, {
        where: whereStatus(user.userId, query.status, now),
        sort: { field: 'position', direction: 'desc' },
        limit: query.limit,
        cursor: query.cursor,
      });
      const items = page.items.map((doc) => {
        const valid = isValidAt(doc.validUntil, now);
        const { userCouponId, couponId, name, discount, minOrderAmount, validUntil, used, usedAt, orderId, issuedAt } = doc;
        const status: Status = used ? 'USED' : valid ? 'AVAILABLE' : 'EXPIRED';
        return { userCouponId, couponId, name, discount, minOrderAmount, validUntil, valid, used, usedAt, orderId, status, issuedAt };
      });
      return { status: 200, body: { items, nextCursor: page.nextCursor } };
    },
  }),
];
