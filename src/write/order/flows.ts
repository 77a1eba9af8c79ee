import { UnitOfWork } from '../../shared/command/handler';
import { couponDecider, CouponState, couponStream, parseUserCouponId } from '../coupon/decider';
import { productDecider, ProductState, productStream } from '../product/decider';
import { walletDecider, walletStream } from '../wallet/decider';
import { CancelInput, decideCancellation, decidePayment, decidePlacement, OrderEffects, OrderWorld, PayInput, PlaceInput } from './checkout';
import { orderDecider, OrderState, orderStream, PlacedOrder } from './decider';

/**
 * The multi-aggregate steps of ordering. Each runs inside one unit of work, so whatever it
 * decides on the order, the products, the wallet and the coupon is appended in one atomic
 * write or not at all, and a concurrent change to any of them makes the whole step decide again.
 * Placing, paying and cancelling are decided by the pure functions of checkout.ts on the states loaded here.
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

/** The order, and the products, coupon and wallet it holds when `involves` says the step touches them. */
async function worldAround(unit: UnitOfWork, orderId: string, userId: string, involves: (order: PlacedOrder) => boolean): Promise<OrderWorld> {
  const order = await unit.state(orderDecider, orderId);
  return order.exists && involves(order)
    ? worldOf(unit, orderId, order.userId, order.lines.map((line) => line.productId), order.coupon ? [order.coupon.couponId] : [])
    : worldOf(unit, orderId, userId, [], []);
}

async function keep(unit: UnitOfWork, input: { orderId: string; userId: string }, effects: OrderEffects): Promise<void> {
  await unit.record(orderDecider, input.orderId, effects.order);
  for (const [id, events] of effects.products) await unit.record(productDecider, id, events);
  for (const [id, events] of effects.coupons) await unit.record(couponDecider, id, events);
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
    ...(order.coupon ? [couponStream(order.coupon.couponId)] : []),
  ];
}
