import { UnitOfWork } from '../../shared/command/handler';
import { unreachable } from '../../shared/domain/decider';
import { DomainError } from '../../shared/domain/errors';
import { checkCouponApplicable, couponDecider, couponStream, parseUserCouponId } from '../coupon/decider';
import { productDecider, productStream } from '../product/decider';
import { walletDecider, walletStream } from '../wallet/decider';
import { AppliedCoupon, LineKind, OrderLine, SealedPayer } from './events';
import { orderDecider, OrderState, OrderStatus, orderStream } from './decider';

/**
 * The multi-aggregate steps of ordering. Each runs inside one unit of work, so whatever it
 * decides on the order, the products, the wallet and the coupon is appended in one atomic
 * write or not at all, and a concurrent change to any of them makes the whole step decide again.
 */

export interface RequestedLine {
  readonly kind: LineKind;
  readonly productId: string;
  readonly quantity: number;
}

export interface PlaceInput {
  readonly orderId: string;
  readonly userId: string;
  readonly lines: readonly RequestedLine[];
  readonly userCouponId: string | null;
  readonly now: string;
  readonly expiresAt: string;
}

/** Prices each requested line from the current product and checks it can be delivered. */
async function priceLine(unit: UnitOfWork, line: RequestedLine): Promise<OrderLine> {
  switch (line.kind) {
    case 'PRODUCT': {
      const product = await unit.state(productDecider, line.productId);
      if (!product.exists) throw new DomainError('PRODUCT_NOT_FOUND', 'not_found', `there is no product ${line.productId}`, { productId: line.productId });
      if (product.stock < line.quantity) {
        throw new DomainError('OUT_OF_STOCK', 'conflict', `only ${product.stock} of ${product.name} left`, {
          productId: line.productId,
          requested: line.quantity,
          available: product.stock,
        });
      }
      return { kind: 'PRODUCT', productId: line.productId, name: product.name, unitPrice: product.price, quantity: line.quantity, amount: product.price * line.quantity };
    }
    default:
      return unreachable(line.kind);
  }
}

async function applyCoupon(unit: UnitOfWork, userCouponId: string, userId: string, subtotal: number, now: string): Promise<AppliedCoupon> {
  const parsed = parseUserCouponId(userCouponId);
  if (!parsed || parsed.userId !== userId) {
    throw new DomainError('COUPON_NOT_APPLICABLE', 'conflict', 'you hold no such coupon', { userCouponId, reason: 'NOT_OWNED' });
  }
  const coupon = await unit.state(couponDecider, parsed.couponId);
  const { discount } = checkCouponApplicable(coupon, userCouponId, userId, subtotal, now);
  return { userCouponId, couponId: parsed.couponId, discount };
}

/** Accepts the order only when stock, coupon and balance all check out now. */
export async function placeOrder(unit: UnitOfWork, input: PlaceInput): Promise<void> {
  const lines: OrderLine[] = [];
  for (const line of input.lines) lines.push(await priceLine(unit, line));
  const subtotal = lines.reduce((sum, line) => sum + line.amount, 0);
  const coupon = input.userCouponId ? await applyCoupon(unit, input.userCouponId, input.userId, subtotal, input.now) : null;
  const total = subtotal - (coupon?.discount ?? 0);
  const wallet = await unit.state(walletDecider, input.userId);
  if (wallet.balance < total) {
    throw new DomainError('POINTS_INSUFFICIENT', 'conflict', 'the balance does not cover the order', { balance: wallet.balance, required: total });
  }
  await unit.decide(orderDecider, input.orderId, {
    type: 'PlaceOrder',
    data: { orderId: input.orderId, userId: input.userId, orderType: 'NORMAL', lines, coupon, now: input.now, expiresAt: input.expiresAt },
  });
}

export interface PayInput {
  readonly orderId: string;
  readonly userId: string;
  readonly payer: SealedPayer | null;
  readonly now: string;
}

/** Stock down, points used, coupon consumed, order paid: at the order's own prices, re-checked now. */
export async function payOrder(unit: UnitOfWork, input: PayInput): Promise<void> {
  await unit.decide(orderDecider, input.orderId, { type: 'MarkPaid', data: { orderId: input.orderId, userId: input.userId, payer: input.payer, now: input.now } });
  const order = (await unit.state(orderDecider, input.orderId)) as Extract<OrderState, { exists: true }>;
  for (const line of order.lines) {
    switch (line.kind) {
      case 'PRODUCT':
        await unit.decide(productDecider, line.productId, {
          type: 'DecreaseStock',
          data: { productId: line.productId, orderId: order.orderId, quantity: line.quantity, now: input.now },
        });
        break;
      default:
        unreachable(line.kind);
    }
  }
  if (order.coupon) {
    await unit.decide(couponDecider, order.coupon.couponId, {
      type: 'UseCoupon',
      data: { userCouponId: order.coupon.userCouponId, userId: order.userId, orderId: order.orderId, subtotal: order.subtotal, now: input.now },
    });
  }
  if (order.total > 0) {
    await unit.decide(walletDecider, order.userId, { type: 'UsePoints', data: { userId: order.userId, amount: order.total, orderId: order.orderId, now: input.now } });
  }
}

/** A pending order is just cancelled; a paid one gives back stock, points and coupon in the same write. */
export async function cancelOrder(unit: UnitOfWork, input: { orderId: string; userId: string; seenStatus: OrderStatus; now: string }): Promise<void> {
  const before = await unit.state(orderDecider, input.orderId);
  await unit.decide(orderDecider, input.orderId, { type: 'CancelOrder', data: { ...input } });
  if (!before.exists || before.status !== 'PAID') return;
  for (const line of before.lines) {
    switch (line.kind) {
      case 'PRODUCT':
        await unit.decide(productDecider, line.productId, { type: 'RestoreStock', data: { productId: line.productId, orderId: before.orderId, now: input.now } });
        break;
      default:
        unreachable(line.kind);
    }
  }
  if (before.coupon) {
    await unit.decide(couponDecider, before.coupon.couponId, {
      type: 'RestoreCoupon',
      data: { userCouponId: before.coupon.userCouponId, orderId: before.orderId, now: input.now },
    });
  }
  await unit.decide(walletDecider, before.userId, { type: 'RefundPoints', data: { userId: before.userId, orderId: before.orderId, now: input.now } });
}

/** Streams a step on this order will touch: locked up front so contenders queue instead of conflicting. */
export function streamsOf(order: OrderState, userId: string): string[] {
  if (!order.exists) return [];
  return [
    orderStream(order.orderId),
    walletStream(userId),
    ...order.lines.map((line) => productStream(line.productId)),
    ...(order.coupon ? [couponStream(order.coupon.couponId)] : []),
  ];
}
