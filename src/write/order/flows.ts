import { UnitOfWork } from '../../shared/command/handler';
import { couponDecider, CouponState, parseUserCouponId } from '../coupon/decider';
import { userCouponDecider, UserCouponState, userCouponStream } from '../usercoupon/decider';
import { productDecider, ProductState, productStream } from '../product/decider';
import { walletDecider, walletStream } from '../wallet/decider';
import { CancelInput, decideCancellation, decidePayment, decidePlacement, OrderEffects, OrderWorld, PayInput, PlaceInput } from './checkout';
import { orderDecider, OrderState, orderStream, PlacedOrder } from './decider';

/**
 * The multi-aggregate steps of ordering. Each runs inside one unit of work, so whatever it
 * decides on the order, the products, the wallet and the user coupon is appended in one atomic
 * write or not at all, and a concurrent change to any of them makes the whole step decide again.
 * The coupon's campaign is read, never written: a change to it (a new issue) is no conflict.
 * Placing, paying and cancelling are decided by the pure functions of checkout.ts on the states loaded here.
 */

/** The states a step decides on, loaded through the unit so that a conflict on any of them makes it decide again. */
async function worldOf(
  unit: UnitOfWork,
  orderId: string,
  userId: string,
  productIds: readonly string[],
  userCouponId: string | null,
): Promise<OrderWorld> {
  const products = new Map<string, ProductState>();
  for (const id of productIds) products.set(id, await unit.state(productDecider, id));
  const coupons = new Map<string, CouponState>();
  const userCoupons = new Map<string, UserCouponState>();
  const held = userCouponId === null ? null : parseUserCouponId(userCouponId);
  if (userCouponId !== null && held !== null) {
    coupons.set(held.couponId, await unit.state(couponDecider, held.couponId));
    userCoupons.set(userCouponId, await unit.state(userCouponDecider, userCouponId));
  }
  return { order: await unit.state(orderDecider, orderId), products, coupons, userCoupons, wallet: await unit.state(walletDecider, userId) };
}

export async function placeOrder(unit: UnitOfWork, input: PlaceInput): Promise<void> {
  const productIds = input.lines.map((line) => line.productId);
  const world = await worldOf(unit, input.orderId, input.userId, productIds, input.userCouponId);
  await unit.record(orderDecider, input.orderId, decidePlacement(input, world));
}

/** The order, and the products, coupon and wallet it holds when `involves` says the step touches them. */
async function worldAround(unit: UnitOfWork, orderId: string, userId: string, involves: (order: PlacedOrder) => boolean): Promise<OrderWorld> {
  const order = await unit.state(orderDecider, orderId);
  return order.exists && involves(order)
    ? worldOf(unit, orderId, order.userId, order.lines.map((line) => line.productId), order.coupon?.userCouponId ?? null)
    : worldOf(unit, orderId, userId, [], null);
}

async function keep(unit: UnitOfWork, input: { orderId: string; userId: string }, effects: OrderEffects): Promise<void> {
  await unit.record(orderDecider, input.orderId, effects.order);
  for (const [id, events] of effects.products) await unit.record(productDecider, id, events);
  for (const [id, events] of effects.userCoupons) await unit.record(userCouponDecider, id, events);
  await unit.record(walletDecider, input.userId, effects.wallet);
}

export async function payOrder(unit: UnitOfWork, input: PayInput): Promise<void> {
  await keep(unit, input, decidePayment(input, await worldAround(unit, input.orderId, input.userId, () => true)));
}

export async function cancelOrder(unit: UnitOfWork, input: CancelInput): Promise<void> {
  // Only a paid order's refund touches more than the order.
  await keep(unit, input, decideCancellation(input, await worldAround(unit, input.orderId, input.userId, (order) => order.status === 'PAID')));
}

/** Streams a step on this order will touch: locked up front so contenders queue instead of conflicting. */
export function streamsOf(order: OrderState, userId: string): string[] {
  if (!order.exists) return [];
  return [
    orderStream(order.orderId),
    walletStream(userId),
    ...order.lines.map((line) => productStream(line.productId)),
    ...(order.coupon ? [userCouponStream(order.coupon.userCouponId)] : []),
  ];
}
