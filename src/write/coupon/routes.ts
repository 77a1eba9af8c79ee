import { z } from 'zod';
import type { AppServices } from '../../composition/services';
import { uuidFromHash } from '../../shared/command/event-ids';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, instantOutSchema, positionSchema } from '../../shared/http/schemas';
import { COUPON_LIMITS, couponTermsOf } from './term-rules';
import { couponDecider } from './decider';
import { CouponIssuer } from './issuer';
import { couponIdSchema, couponTermsSchema, discountSchema, instantSchema } from './schemas';

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(COUPON_LIMITS.maxNameLength),
  discount: discountSchema,
  totalQuantity: z.number().int().min(1).max(COUPON_LIMITS.maxQuantity),
  minOrderAmount: z.number().int().min(0).max(COUPON_LIMITS.maxAmount).optional(),
  issueStartsAt: instantSchema.optional(),
  issueEndsAt: instantSchema.optional(),
  validUntil: instantSchema.optional(),
  validDays: z.number().int().min(1).max(COUPON_LIMITS.maxValidDays).optional(),
});

export const couponRoutes = ({ config, clock, ids, commands, events, couponGate }: AppServices) => {
  const issuer = new CouponIssuer(commands, couponGate, events, config.COMMAND_MAX_ATTEMPTS);
  return [
    defineRoute({
      method: 'post',
      path: '/admin/coupons',
      operationId: 'createCoupon',
      summary: 'Create a coupon',
      tags: ['Coupons'],
      access: 'admin',
      idempotent: true,
      body: createBody.openapi({
        description:
          'The issue window is [issueStartsAt, issueEndsAt), open-ended where absent. An issued coupon is valid until `validUntil`, ' +
          'or for `validDays` after its issue; with neither it never expires.',
        // Whole, because the fields depend on each other (validUntil or validDays, a window in order).
        example: {
          name: 'Winter sale: 10% off, up to 20,000',
          discount: { type: 'PERCENT', percent: 10, maxDiscount: 20_000 },
          totalQuantity: 100,
          minOrderAmount: 30_000,
          issueEndsAt: '2026-12-31T15:00:00.000Z',
          validDays: 7,
        },
      }),
      response: {
        status: 201,
        description: 'The coupon',
        schema: couponTermsSchema.extend({ createdAt: instantOutSchema, position: positionSchema }),
      },
      errors: { 400: ['COUPON_INVALID'], 409: ['COUPON_ALREADY_EXISTS'] },
      async handle({ body, user, idSeed }) {
        // Derived from the Idempotency-Key when there is one, so a retry lands on the same stream and cannot create a twin.
        const couponId = idSeed === undefined ? ids.newId() : uuidFromHash(`coupon\u0000${idSeed}`);
        const result = await commands.handle(
          couponDecider,
          couponId,
          {
            type: 'CreateCoupon',
            data: {
              couponId,
              ...couponTermsOf(body),
              now: clock.now().toISOString(),
            },
          },
          { idSeed, metadata: { actorId: user.userId, role: user.role } },
        );
        const { occurredAt, ...coupon } = result.state.coupon!;
        return { status: 201, body: { ...coupon, createdAt: occurredAt, position: result.position } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/coupons/{couponId}/issue',
      operationId: 'issueCoupon',
      summary: 'Get a coupon: first come, first served, one per user',
      tags: ['Coupons'],
      access: 'user',
      idempotent: true,
      rateLimit: 'issue',
      params: z.strictObject({ couponId: couponIdSchema }),
      response: {
        status: 201,
        description: 'The coupon is yours',
        schema: z.object({
          userCouponId: z.string().openapi({ example: `${EXAMPLE.couponId}:${EXAMPLE.userId}` }),
          couponId: z.string().openapi({ example: EXAMPLE.couponId }),
          validUntil: instantOutSchema.nullable().openapi({ description: 'null: never expires' }),
          position: positionSchema,
        }),
      },
      errors: { 404: ['COUPON_NOT_FOUND'], 409: ['COUPON_SOLD_OUT', 'COUPON_ALREADY_ISSUED', 'COUPON_NOT_ISSUABLE'] },
      async handle({ params, user }) {
        const { issued, position } = await issuer.issue(params.couponId, user, clock.now().toISOString());
        return { status: 201, body: { userCouponId: issued.userCouponId, couponId: issued.couponId, validUntil: issued.validUntil, position } };
      },
    }),
  ];
};
