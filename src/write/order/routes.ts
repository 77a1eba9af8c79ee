import { z } from 'zod';
import type { AppServices } from '../../composition/services';
import { uuidFromHash } from '../../shared/command/event-ids';
import { UnitOfWork } from '../../shared/command/handler';
import { DomainError, DomainErrorCode } from '../../shared/domain/errors';
import { Principal } from '../../shared/auth/tokens';
import { ErrorCode } from '../../shared/http/problem';
import { defineRoute } from '../../shared/http/route';
import { EXAMPLE, positionSchema } from '../../shared/http/schemas';
import { Payer } from '../../shared/crypto/payer';
import { productStream } from '../product/decider';
import { parseUserCouponId } from '../coupon/decider';
import { userCouponStream } from '../usercoupon/decider';
import { walletStream } from '../wallet/decider';
import { MAX_LINES, orderDecider, orderStream, PlacedOrder } from './decider';
import { RequestedLine } from './checkout';
import { cancelOrder, payOrder, placeOrder, streamsOf } from './flows';
import { orderSchema, PAYER_EXAMPLE, presentOrder } from './view';

const itemsSchema = z
  .array(
    z.strictObject({
      productId: z.string().min(1).max(64).openapi({ example: EXAMPLE.productId }),
      quantity: z.number().int().min(1).max(1000).openapi({ example: 2 }),
    }),
  )
  .min(1)
  .max(MAX_LINES)
  .refine((items) => new Set(items.map((item) => item.productId)).size === items.length, { message: 'each productId may appear once' });

const payerSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  phone: z.string().max(20).regex(/^[0-9+\-() ]{6,20}$/, 'digits, spaces and + - ( ) only'),
  email: z.email().max(254),
}).openapi({ description: 'Sealed with a per-user key; only its owner reads it back', example: PAYER_EXAMPLE });

const userCouponIdSchema = z.string().min(1).max(200).openapi({ description: 'One of GET /me/coupons', example: `${EXAMPLE.couponId}:${EXAMPLE.userId}` });

const orderIdParams = z.strictObject({ orderId: z.string().min(1).max(64).openapi({ param: { example: EXAMPLE.orderId } }) });

const orderResponse = orderSchema.extend({ position: positionSchema });

/** Business refusals of a payment; anything else (a conflict, a crash) is not recorded on the order. */
const PAYMENT_REFUSALS: ReadonlySet<DomainErrorCode> = new Set<DomainErrorCode>(['OUT_OF_STOCK', 'POINTS_INSUFFICIENT', 'COUPON_NOT_APPLICABLE', 'PRODUCT_NOT_FOUND']);

const paymentErrors: Readonly<Record<number, readonly ErrorCode[]>> = {
  404: ['ORDER_NOT_FOUND'],
  409: ['OUT_OF_STOCK', 'POINTS_INSUFFICIENT', 'COUPON_NOT_APPLICABLE', 'ORDER_NOT_PAYABLE', 'ORDER_EXPIRED'],
};

export const orderRoutes = ({ clock, ids, commands, payers, config }: AppServices) => {
  const metadata = (user: Principal) => ({ actorId: user.userId, role: user.role });
  /** A retried request (same Idempotency-Key) names the same order, so it can never create or pay a second one. */
  const newOrderId = (idSeed: string | undefined) => (idSeed ? uuidFromHash(`${idSeed}\u0000order`) : ids.newId());
  const toLines = (items: readonly { productId: string; quantity: number }[]): RequestedLine[] =>
    items.map((item) => ({ kind: 'PRODUCT', productId: item.productId, quantity: item.quantity }));
  const seal = (user: Principal, payer: Payer | undefined) => (payer ? payers.seal(user.userId, payer) : null);
  const placedNow = () => {
    const now = clock.now();
    return { now: now.toISOString(), expiresAt: new Date(now.getTime() + config.ORDER_PAYMENT_TTL_MINUTES * 60_000).toISOString() };
  };

  /** Runs one step and answers with the order as written. */
  /** `placing`: the step creates the order, whose id was drawn at random unless an Idempotency-Key gave it. */
  const run = async (user: Principal, orderId: string, lockKeys: string[], step: (unit: UnitOfWork) => Promise<void>, idSeed: string | undefined, placing = false) => {
    const committed = await commands.transact(
      lockKeys,
      async (unit) => {
        await step(unit);
        return unit.state(orderDecider, orderId);
      },
      { idSeed, metadata: metadata(user), newStreams: placing && idSeed === undefined ? [orderStream(orderId)] : [] },
    );
    const order = committed.duplicate ? (await commands.load(orderDecider, orderStream(orderId))).state : committed.result;
    return presentOrder({ ...(order as PlacedOrder), position: committed.position }, clock.now());
  };

  /** Lock keys for a new order: the products and wallet it reads, and the user coupon if any (not its campaign, which no order writes). */
  const placementStreams = (user: Principal, items: readonly { productId: string }[], userCouponId: string | undefined) => [
    walletStream(user.userId),
    ...items.map((item) => productStream(item.productId)),
    ...(userCouponId && parseUserCouponId(userCouponId) ? [userCouponStream(userCouponId)] : []),
  ];

  /**
   * Records why a payment was refused (the order stays payable) and answers the refusal with the
   * position of that record: it is the payer's write, which their next read must show.
   */
  const recordRefusal = async (user: Principal, orderId: string, error: unknown): Promise<unknown> => {
    if (!(error instanceof DomainError) || !PAYMENT_REFUSALS.has(error.code)) return error;
    const { position } = await commands.handle(
      orderDecider,
      orderId,
      { type: 'RecordPaymentFailure', data: { orderId, userId: user.userId, reason: error.code, now: clock.now().toISOString() } },
      { metadata: metadata(user) },
    );
    return new DomainError(error.code, error.kind, error.message, { ...error.details, position });
  };

  return [
    defineRoute({
      method: 'post',
      path: '/orders',
      operationId: 'placeOrder',
      summary: 'Place an order (checks stock, balance and coupon; nothing is taken until payment, which must come before expiresAt)',
      tags: ['Orders'],
      access: 'user',
      idempotent: true,
      body: z.strictObject({ items: itemsSchema, userCouponId: userCouponIdSchema.optional() }),
      response: { status: 201, description: 'The pending order', schema: orderResponse },
      errors: { 404: ['PRODUCT_NOT_FOUND'], 409: ['OUT_OF_STOCK', 'POINTS_INSUFFICIENT', 'COUPON_NOT_APPLICABLE'] },
      async handle({ body, user, idSeed }) {
        const orderId = newOrderId(idSeed);
        const input = { orderId, userId: user.userId, lines: toLines(body.items), userCouponId: body.userCouponId ?? null, ...placedNow() };
        const order = await run(user, orderId, placementStreams(user, body.items, body.userCouponId), (unit) => placeOrder(unit, input), idSeed, true);
        return { status: 201, body: order };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/orders/{orderId}/payment',
      operationId: 'payOrder',
      summary: 'Pay an order before it expires: stock, points, coupon and order change in one atomic write',
      tags: ['Orders'],
      access: 'user',
      idempotent: true,
      params: orderIdParams,
      body: z.strictObject({ payer: payerSchema.optional() }),
      response: { status: 200, description: 'The paid order', schema: orderResponse },
      errors: paymentErrors,
      async handle({ params, body, user, idSeed }) {
        const { state } = await commands.load(orderDecider, orderStream(params.orderId));
        if (!state.exists || state.userId !== user.userId) throw new DomainError('ORDER_NOT_FOUND', 'not_found', 'no such order');
        const input = { orderId: params.orderId, userId: user.userId, payer: await seal(user, body.payer), now: clock.now().toISOString() };
        try {
          return { status: 200, body: await run(user, params.orderId, streamsOf(state, user.userId), (unit) => payOrder(unit, input), idSeed) };
        } catch (error) {
          throw await recordRefusal(user, params.orderId, error);
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/checkout',
      operationId: 'checkout',
      summary: 'Place and pay an order in one request and one atomic write',
      tags: ['Orders'],
      access: 'user',
      idempotent: true,
      body: z.strictObject({ items: itemsSchema, userCouponId: userCouponIdSchema.optional(), payer: payerSchema.optional() }),
      response: { status: 201, description: 'The paid order', schema: orderResponse },
      errors: { 404: ['PRODUCT_NOT_FOUND'], 409: ['OUT_OF_STOCK', 'POINTS_INSUFFICIENT', 'COUPON_NOT_APPLICABLE'] },
      async handle({ body, user, idSeed }) {
        const orderId = newOrderId(idSeed);
        const { now, expiresAt } = placedNow();
        const place = { orderId, userId: user.userId, lines: toLines(body.items), userCouponId: body.userCouponId ?? null, now, expiresAt };
        const pay = { orderId, userId: user.userId, payer: await seal(user, body.payer), now };
        const streams = [orderStream(orderId), ...placementStreams(user, body.items, body.userCouponId)];
        const order = await run(user, orderId, streams, async (unit) => {
          await placeOrder(unit, place);
          await payOrder(unit, pay);
        }, idSeed, true);
        return { status: 201, body: order };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/orders/{orderId}/cancel',
      operationId: 'cancelOrder',
      summary: 'Cancel an order; a paid one is refunded (stock, points, coupon) in one atomic write',
      tags: ['Orders'],
      access: 'user',
      idempotent: true,
      params: orderIdParams,
      response: { status: 200, description: 'The cancelled order', schema: orderResponse },
      errors: { 404: ['ORDER_NOT_FOUND'], 409: ['ORDER_NOT_CANCELLABLE'] },
      async handle({ params, user, idSeed }) {
        const { state } = await commands.load(orderDecider, orderStream(params.orderId));
        if (!state.exists || state.userId !== user.userId) throw new DomainError('ORDER_NOT_FOUND', 'not_found', 'no such order');
        const input = { orderId: params.orderId, userId: user.userId, seenStatus: state.status, now: clock.now().toISOString() };
        return { status: 200, body: await run(user, params.orderId, streamsOf(state, user.userId), (unit) => cancelOrder(unit, input), idSeed) };
      },
    }),
  ];
};
