import { unreachable } from '../../shared/domain/decider';
import { DomainError } from '../../shared/domain/errors';
import { couponDecider, CouponState, parseUserCouponId } from '../coupon/decider';
import { checkCouponApplicable, userCouponDecider, UserCouponState } from '../usercoupon/decider';
import { RestoreCoupon, UseCoupon } from '../usercoupon/commands';
import { UserCouponEvent } from '../usercoupon/events';
import { productDecider, ProductState } from '../product/decider';
import { DecreaseStock, RestoreStock } from '../product/commands';
import { ProductEvent } from '../product/events';
import { walletDecider, WalletState } from '../wallet/decider';
import { RefundPoints, UsePoints } from '../wallet/commands';
import { WalletEvent } from '../wallet/events';
import { AppliedCoupon, LineKind, OrderEvent, OrderLine, SealedPayer } from './events';
import { orderDecider, OrderState, OrderStatus, PlacedOrder } from './decider';

/**
 * Placing, paying and cancelling an order as pure decisions over every aggregate they touch. The rules
 * stay with their aggregates: whether stock can be taken is the product decider's question,
 * whether the points cover it the wallet's, whether a coupon applies the user coupon's (over
 * its campaign's terms and issue, which these steps read and never write). Placing
 * asks those same questions without keeping the answers (nothing is taken until payment),
 * so a placed order is one that could be paid at that moment.
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

export interface CancelInput {
  readonly orderId: string;
  readonly userId: string;
  /** The status the caller saw: a cancellation asked of a pending order does not refund one paid meanwhile. */
  readonly seenStatus?: OrderStatus;
  readonly now: string;
}

export interface PayInput {
  readonly orderId: string;
  readonly userId: string;
  readonly payer: SealedPayer | null;
  readonly now: string;
}

/** The aggregates a step reads, as their deciders fold them; one missing from a map has no events yet. */
export interface OrderWorld {
  readonly order: OrderState;
  readonly products: ReadonlyMap<string, ProductState>;
  /** Campaigns by coupon id, read only. */
  readonly coupons: ReadonlyMap<string, CouponState>;
  /** User coupons by user coupon id. */
  readonly userCoupons: ReadonlyMap<string, UserCouponState>;
  readonly wallet: WalletState;
}

/** What a step appends, aggregate by aggregate. */
export interface OrderEffects {
  readonly order: readonly OrderEvent[];
  readonly products: ReadonlyMap<string, readonly ProductEvent[]>;
  readonly userCoupons: ReadonlyMap<string, readonly UserCouponEvent[]>;
  readonly wallet: readonly WalletEvent[];
}

const productIn = (world: OrderWorld, productId: string) => world.products.get(productId) ?? productDecider.initialState;
const campaignIn = (world: OrderWorld, couponId: string) => world.coupons.get(couponId) ?? couponDecider.initialState;
const userCouponIn = (world: OrderWorld, userCouponId: string) => world.userCoupons.get(userCouponId) ?? userCouponDecider.initialState;

/** Prices a requested line from the current product, once its decider would let the order take that stock. */
function priceLine(world: OrderWorld, orderId: string, line: RequestedLine, now: string): OrderLine {
  switch (line.kind) {
    case 'PRODUCT': {
      const product = productIn(world, line.productId);
      productDecider.decide({ type: 'DecreaseStock', data: { productId: line.productId, orderId, quantity: line.quantity, now } }, product);
      return { kind: 'PRODUCT', productId: line.productId, name: product.name, unitPrice: product.price, quantity: line.quantity, amount: product.price * line.quantity };
    }
    default:
      return unreachable(line.kind);
  }
}

function applyCoupon(world: OrderWorld, userCouponId: string, userId: string, subtotal: number, now: string): AppliedCoupon {
  const parsed = parseUserCouponId(userCouponId);
  if (!parsed || parsed.userId !== userId) {
    throw new DomainError('COUPON_NOT_APPLICABLE', 'conflict', 'you hold no such coupon', { userCouponId, reason: 'NOT_OWNED' });
  }
  const { discount } = checkCouponApplicable(campaignIn(world, parsed.couponId), userCouponIn(world, userCouponId), userCouponId, userId, subtotal, now);
  return { userCouponId, couponId: parsed.couponId, discount };
}

/** Accepts the order only when stock, coupon and balance all check out now. */
export function decidePlacement(input: PlaceInput, world: OrderWorld): readonly OrderEvent[] {
  const lines = input.lines.map((line) => priceLine(world, input.orderId, line, input.now));
  const subtotal = lines.reduce((sum, line) => sum + line.amount, 0);
  const coupon = input.userCouponId ? applyCoupon(world, input.userCouponId, input.userId, subtotal, input.now) : null;
  const total = subtotal - (coupon?.discount ?? 0);
  if (total > 0) walletDecider.decide({ type: 'UsePoints', data: { userId: input.userId, amount: total, orderId: input.orderId, now: input.now } }, world.wallet);
  return orderDecider.decide(
    { type: 'PlaceOrder', data: { orderId: input.orderId, userId: input.userId, orderType: 'NORMAL', lines, coupon, now: input.now, expiresAt: input.expiresAt } },
    world.order,
  );
}

/** What one step asks of each aggregate an order holds: the stock of each line, its coupon (with its campaign as read), its wallet (null: nothing). */
interface AskOfHoldings {
  readonly line: (line: OrderLine) => DecreaseStock | RestoreStock;
  readonly coupon: (coupon: AppliedCoupon, campaign: CouponState) => UseCoupon | RestoreCoupon;
  readonly wallet: UsePoints | RefundPoints | null;
}

/** The step's events on the order and on every aggregate it holds, each decided by that aggregate's own decider. */
function acrossHoldings(world: OrderWorld, order: PlacedOrder, decided: readonly OrderEvent[], ask: AskOfHoldings): OrderEffects {
  const products = new Map(order.lines.map((line) => [line.productId, productDecider.decide(ask.line(line), productIn(world, line.productId))] as const));
  const userCoupons = new Map<string, readonly UserCouponEvent[]>();
  if (order.coupon) {
    const { userCouponId, couponId } = order.coupon;
    userCoupons.set(userCouponId, userCouponDecider.decide(ask.coupon(order.coupon, campaignIn(world, couponId)), userCouponIn(world, userCouponId)));
  }
  return { order: decided, products, userCoupons, wallet: ask.wallet ? walletDecider.decide(ask.wallet, world.wallet) : [] };
}

/** Order paid, stock down, coupon consumed, points used: at the order's own prices, each re-checked by its aggregate now. */
export function decidePayment(input: PayInput, world: OrderWorld): OrderEffects {
  const paid = orderDecider.decide({ type: 'MarkPaid', data: { orderId: input.orderId, userId: input.userId, payer: input.payer, now: input.now } }, world.order);
  // MarkPaid refuses every order that does not exist.
  const order = world.order as PlacedOrder;
  const { orderId, userId } = order;
  return acrossHoldings(world, order, paid, {
    line(line) {
      switch (line.kind) {
        case 'PRODUCT':
          return { type: 'DecreaseStock', data: { productId: line.productId, orderId, quantity: line.quantity, now: input.now } };
        default:
          return unreachable(line.kind);
      }
    },
    coupon: ({ userCouponId }, campaign) => ({ type: 'UseCoupon', data: { userCouponId, userId, orderId, subtotal: order.subtotal, now: input.now, campaign } }),
    wallet: order.total > 0 ? { type: 'UsePoints', data: { userId, amount: order.total, orderId, now: input.now } } : null,
  });
}

/** A pending order is just cancelled; a paid one gives back the stock of each line, its coupon and its points, each as its aggregate decides. */
export function decideCancellation(input: CancelInput, world: OrderWorld): OrderEffects {
  const cancelled = orderDecider.decide({ type: 'CancelOrder', data: input }, world.order);
  // CancelOrder refuses every order that does not exist.
  const order = world.order as PlacedOrder;
  if (order.status !== 'PAID') return { order: cancelled, products: new Map(), userCoupons: new Map(), wallet: [] };
  const { orderId, userId } = order;
  return acrossHoldings(world, order, cancelled, {
    line(line) {
      switch (line.kind) {
        case 'PRODUCT':
          return { type: 'RestoreStock', data: { productId: line.productId, orderId, now: input.now } };
        default:
          return unreachable(line.kind);
      }
    },
    coupon: ({ userCouponId }, campaign) => ({ type: 'RestoreCoupon', data: { userCouponId, orderId, now: input.now, campaign } }),
    wallet: { type: 'RefundPoints', data: { userId, orderId, now: input.now } },
  });
}
