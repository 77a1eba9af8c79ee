import { UnitOfWork } from '../../shared/command/handler';
import { unreachable } from '../../shared/domain/decider';
import { couponDecider, CouponState, couponStream, parseUserCouponId } from '../coupon/decider';
import { productDecider, ProductState, productStream } from '../product/decider';
import { walletDecider, walletStream } from '../wallet/decider';
import { decidePayment, decidePlacement, OrderWorld, PayInput, PlaceInput } from './checkout';
import { orderDecider, OrderState, OrderStatus, orderStream } from './decider';

/**
 * The multi-aggregate steps of ordering. Each runs inside one unit of work, so whatever it
 * decides on the order, the products, the wallet and the coupon is appended in one atomic
 * write or not at all, and a concurrent change to any of them makes the whole step decide again.
 * Placing and paying are decided by the pure functions of checkout.ts on the states loaded here.
 */

/** The states a step decides on, loaded through the unit so that a conflict on any of them makes it decide again. */
async function worldOf(
  unit: UnitOfWork,
  orderId: string,
  userId: string,
  productIds: readonly string[],
  couponIds: readonly string[],
): Promise<OrderWorld> {
  const products = new Map<string, ProductState>();
  for (const id of productIds) products.set(id, await unit.state(productDecider, id));
  const coupons = new Map<string, CouponState>();
  for (const id of couponIds) coupons.set(id, await unit.state(couponDecider, id));
  return { order: await unit.state(orderDecider, orderId), products, coupons, wallet: await unit.state(walletDecider, userId) };
}

export async function placeOrder(unit: UnitOfWork, input: PlaceInput): Promise<void> {
  const couponId = input.userCouponId ? parseUserCouponId(input.userCouponId)?.couponId : undefined;
  const productIds = input.lines.map((line) => line.productId);
  const world = await worldOf(unit, input.orderId, input.userId, productIds, couponId ? [couponId] : []);
  await unit.record(orderDecider, input.orderId, decidePlacement(input, world));
}

export async function payOrder(unit: UnitOfWork, input: PayInput): Promise<void> {
  const order = await unit.state(orderDecider, input.orderId);
  const world = order.exists
    ? await worldOf(unit, input.orderId, order.userId, order.lines.map((line) => line.productId), order.coupon ? [order.coupon.couponId] : [])
    : await worldOf(unit, input.orderId, input.userId, [], []);
  const effects = decidePayment(input, world);
  await unit.record(orderDecider, input.orderId, effects.order);
  for (const [id, events] of effects.products) await unit.record(productDecider, id, events);
  for (const [id, events] of effects.coupons) await unit.record(couponDecider, id, events);
  await unit.record(walletDecider, input.userId, effects.wallet);
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
