import { EventStore, StoredEvent } from '../shared/eventstore/port';
import { recorded } from '../shared/eventstore/recorded';
import { CouponEvent } from '../write/coupon/events';
import { userCouponStream } from '../write/usercoupon/decider';
import { UserCouponEvent } from '../write/usercoupon/events';
import { OrderEvent, OrderPlaced } from '../write/order/events';
import { ProductEvent } from '../write/product/events';
import { WalletEvent } from '../write/wallet/events';

/**
 * The business invariants recomputed from the event log alone, independently of the deciders
 * that enforced them (docs/ARCHITECTURE.md, principle 1): if a decider or an append had let something
 * through, this is where it shows.
 */
export interface LogCheck {
  readonly events: number;
  readonly wallets: number;
  readonly products: number;
  readonly coupons: number;
  /** User coupons with a stream of their own (used at least once since uses moved there). */
  readonly userCoupons: number;
  readonly orders: number;
  /** One line per broken rule, naming the stream and revision; empty when the log is sound. */
  readonly problems: readonly string[];
}

type Effects = {
  stockTaken: Map<string, number>;
  stockGivenBack: Map<string, number>;
  pointsUsed: number;
  pointsRefunded: number;
  couponUsed: number;
  couponRestored: number;
};

type OrderFold = { placed: OrderPlaced['data'] | null; status: 'PENDING' | 'PAID' | 'CANCELLED'; paidTimes: number; refunded: boolean };

const at = (event: StoredEvent) => `${event.stream}@${event.revision}`;
const add = (map: Map<string, number>, key: string, n: number) => map.set(key, (map.get(key) ?? 0) + n);

export interface LogRules {
  /** POINTS_BALANCE_CAP: no charge may leave the balance plus the points paid orders can give back above it. */
  readonly balanceCap: number;
}

export async function checkLog(events: EventStore, rules: LogRules, onBatch?: (events: number, position: string) => void): Promise<LogCheck> {
  const problems: string[] = [];
  const wallets = new Map<string, { balance: number; used: Map<string, number>; refundable: number }>();
  const products = new Map<string, { stock: number; taken: Map<string, number> }>();
  const coupons = new Map<string, { total: number; holders: Set<string> }>();
  /**
   * Each issued user coupon's use across both places it is recorded: its campaign's stream (logs
   * from before user coupons had streams of their own) and then its own stream. `ownStream`:
   * its own stream has begun, so its campaign must not record a use any more.
   */
  const uses = new Map<string, { usedBy: string | null; ownStream: boolean }>();
  const orders = new Map<string, OrderFold>();
  const effects = new Map<string, Effects>();
  const effectsOf = (orderId: string) => {
    let found = effects.get(orderId);
    if (!found) {
      found = { stockTaken: new Map(), stockGivenBack: new Map(), pointsUsed: 0, pointsRefunded: 0, couponUsed: 0, couponRestored: 0 };
      effects.set(orderId, found);
    }
    return found;
  };
  const wrong = (event: StoredEvent, message: string) => problems.push(`${at(event)} ${event.type}: ${message}`);
  /** The `never` default of each fold: a type the union does not know is reported, not taken for another. */
  const unknown = (event: StoredEvent, _unhandled: never) => wrong(event, 'is not an event type of its stream');

  const wallet = (event: StoredEvent) => {
    const e = recorded<WalletEvent>(event);
    const state = wallets.get(event.stream) ?? { balance: 0, used: new Map<string, number>(), refundable: 0 };
    wallets.set(event.stream, state);
    switch (e.type) {
      case 'PointsCharged':
        state.balance += e.data.amount;
        if (state.balance + state.refundable > rules.balanceCap) {
          wrong(event, `balance ${state.balance} plus ${state.refundable} in paid orders passes the cap of ${rules.balanceCap}`);
        }
        break;
      case 'PointsUsed':
        if (state.used.has(e.data.orderId)) wrong(event, `order ${e.data.orderId} used points twice`);
        state.used.set(e.data.orderId, e.data.amount);
        state.balance -= e.data.amount;
        state.refundable += e.data.amount;
        effectsOf(e.data.orderId).pointsUsed += e.data.amount;
        break;
      case 'PointsRefunded':
        if (state.used.get(e.data.orderId) !== e.data.amount) wrong(event, `refunds ${e.data.amount} to order ${e.data.orderId}, which has ${state.used.get(e.data.orderId) ?? 'nothing'} to refund`);
        state.refundable -= state.used.get(e.data.orderId) ?? 0;
        state.used.delete(e.data.orderId);
        state.balance += e.data.amount;
        effectsOf(e.data.orderId).pointsRefunded += e.data.amount;
        break;
      default:
        return unknown(event, e);
    }
    if (!Number.isSafeInteger(e.data.amount) || e.data.amount <= 0) wrong(event, `amount ${e.data.amount} is not a positive integer`);
    if (state.balance < 0) wrong(event, `balance ${state.balance} is negative`);
    if (e.data.balanceAfter !== state.balance) wrong(event, `says balance ${e.data.balanceAfter}, the events before it sum to ${state.balance}`);
  };

  const product = (event: StoredEvent) => {
    const e = recorded<ProductEvent>(event);
    const state = products.get(event.stream);
    if (e.type === 'ProductRegistered') {
      if (state) wrong(event, 'registered twice');
      products.set(event.stream, { stock: e.data.stock, taken: new Map() });
      if (e.data.stock < 0) wrong(event, `stock ${e.data.stock} is negative`);
      return;
    }
    if (!state) return void wrong(event, 'before the product was registered');
    switch (e.type) {
      case 'ProductUpdated':
        return;
      case 'StockAdded':
        state.stock += e.data.quantity;
        break;
      case 'StockDecreased':
        if (state.taken.has(e.data.orderId)) wrong(event, `order ${e.data.orderId} took stock twice`);
        state.taken.set(e.data.orderId, e.data.quantity);
        state.stock -= e.data.quantity;
        add(effectsOf(e.data.orderId).stockTaken, e.data.productId, e.data.quantity);
        break;
      case 'StockRestored':
        if (state.taken.get(e.data.orderId) !== e.data.quantity) wrong(event, `restores ${e.data.quantity} for order ${e.data.orderId}, which holds ${state.taken.get(e.data.orderId) ?? 'nothing'}`);
        state.taken.delete(e.data.orderId);
        state.stock += e.data.quantity;
        add(effectsOf(e.data.orderId).stockGivenBack, e.data.productId, e.data.quantity);
        break;
      default:
        return unknown(event, e);
    }
    if (state.stock < 0) wrong(event, `stock ${state.stock} is negative`);
    if (e.data.stockAfter !== state.stock) wrong(event, `says stock ${e.data.stockAfter}, the events before it sum to ${state.stock}`);
  };

  /** "Used by one order at a time, restored only by the order that used it", wherever the use is recorded. */
  const use = (event: StoredEvent, e: UserCouponEvent) => {
    const held = uses.get(e.data.userCouponId);
    if (!held) return void wrong(event, `user ${e.data.userId} holds no ${e.data.userCouponId}`);
    switch (e.type) {
      case 'CouponUsed':
        if (held.usedBy !== null) wrong(event, `already used by order ${held.usedBy}`);
        held.usedBy = e.data.orderId;
        effectsOf(e.data.orderId).couponUsed += 1;
        return;
      case 'CouponRestored':
        if (held.usedBy !== e.data.orderId) wrong(event, `restores for order ${e.data.orderId}, but it is used by ${held.usedBy ?? 'nobody'}`);
        held.usedBy = null;
        effectsOf(e.data.orderId).couponRestored += 1;
        return;
      default:
        return unknown(event, e);
    }
  };

  const coupon = (event: StoredEvent) => {
    const e = recorded<CouponEvent>(event);
    const state = coupons.get(event.stream);
    if (e.type === 'CouponCreated') {
      if (state) wrong(event, 'created twice');
      coupons.set(event.stream, { total: e.data.totalQuantity, holders: new Set() });
      return;
    }
    if (!state) return void wrong(event, 'before the coupon was created');
    switch (e.type) {
      case 'CouponIssued': {
        if (state.holders.has(e.data.userId)) wrong(event, `user ${e.data.userId} got a second coupon`);
        state.holders.add(e.data.userId);
        if (!uses.has(e.data.userCouponId)) uses.set(e.data.userCouponId, { usedBy: null, ownStream: false });
        if (state.holders.size > state.total) wrong(event, `issued ${state.holders.size} of ${state.total}`);
        if (e.data.issuedQuantity !== state.holders.size) wrong(event, `says ${e.data.issuedQuantity} issued, the log has ${state.holders.size}`);
        return;
      }
      case 'CouponUsed':
      case 'CouponRestored':
        // An instance of the version before user coupon streams, running beside this one, would write here.
        if (uses.get(e.data.userCouponId)?.ownStream) wrong(event, `recorded in the campaign after ${e.data.userCouponId} had its own stream`);
        return use(event, e);
      default:
        return unknown(event, e);
    }
  };

  const userCoupon = (event: StoredEvent) => {
    const e = recorded<UserCouponEvent>(event);
    switch (e.type) {
      case 'CouponUsed':
      case 'CouponRestored': {
        if (event.stream !== userCouponStream(e.data.userCouponId)) wrong(event, `is about ${e.data.userCouponId}, not this stream's user coupon`);
        const held = uses.get(e.data.userCouponId);
        if (held) held.ownStream = true;
        return use(event, e);
      }
      default:
        return unknown(event, e);
    }
  };

  const order = (event: StoredEvent) => {
    const e = recorded<OrderEvent>(event);
    const state = orders.get(e.data.orderId);
    if (e.type === 'OrderPlaced') {
      if (state) wrong(event, 'placed twice');
      orders.set(e.data.orderId, { placed: e.data, status: 'PENDING', paidTimes: 0, refunded: false });
      return;
    }
    if (!state) return void wrong(event, 'before the order was placed');
    switch (e.type) {
      case 'OrderPaid':
        state.paidTimes += 1;
        if (state.status !== 'PENDING') wrong(event, `paid while ${state.status}`);
        state.status = 'PAID';
        return;
      case 'PaymentFailed':
        if (state.status !== 'PENDING') wrong(event, `payment failed while ${state.status}`);
        return;
      case 'OrderCancelled':
        if (state.status === 'CANCELLED') wrong(event, 'cancelled twice');
        if (e.data.refunded !== (state.status === 'PAID')) wrong(event, `refunded=${e.data.refunded} for an order that was ${state.status}`);
        state.refunded = e.data.refunded;
        state.status = 'CANCELLED';
        return;
      default:
        return unknown(event, e);
    }
  };

  const folds: Record<string, (event: StoredEvent) => void> = { wallet, product, coupon, usercoupon: userCoupon, order };
  let count = 0;
  for (let after: string | null = null; ; ) {
    const page = await events.readAll(after, 1000);
    if (page.length === 0) break;
    for (const event of page) folds[event.stream.slice(0, event.stream.indexOf('-'))]?.(event);
    count += page.length;
    after = page[page.length - 1].position;
    onBatch?.(page.length, after);
  }

  // Each order's effects on the other streams, landed in its atomic writes, match what it says it did.
  for (const orderId of effects.keys()) if (!orders.has(orderId)) problems.push(`order ${orderId}: stock, points or coupon moved for an order that was never placed`);
  for (const [orderId, state] of orders) {
    const effect = effectsOf(orderId);
    const paid = state.paidTimes > 0;
    const expectTaken = new Map(paid ? state.placed!.lines.map((line) => [line.productId, line.quantity] as const) : []);
    const expectBack = state.refunded ? expectTaken : new Map<string, number>();
    const same = (a: Map<string, number>, b: Map<string, number>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
    const say = (message: string) => problems.push(`order ${orderId} (${state.status}): ${message}`);
    if (state.paidTimes > 1) say(`paid ${state.paidTimes} times`);
    if (!same(effect.stockTaken, expectTaken)) say(`took stock ${JSON.stringify([...effect.stockTaken])}, its lines say ${JSON.stringify([...expectTaken])}`);
    if (!same(effect.stockGivenBack, expectBack)) say(`gave back stock ${JSON.stringify([...effect.stockGivenBack])}, expected ${JSON.stringify([...expectBack])}`);
    const total = paid ? state.placed!.total : 0;
    if (effect.pointsUsed !== total) say(`used ${effect.pointsUsed} points, its total is ${total}`);
    if (effect.pointsRefunded !== (state.refunded ? total : 0)) say(`refunded ${effect.pointsRefunded} points`);
    const coupons = paid && state.placed!.coupon ? 1 : 0;
    if (effect.couponUsed !== coupons) say(`used a coupon ${effect.couponUsed} times, expected ${coupons}`);
    if (effect.couponRestored !== (state.refunded ? coupons : 0)) say(`gave a coupon back ${effect.couponRestored} times`);
  }

  const userCoupons = [...uses.values()].filter((held) => held.ownStream).length;
  return { events: count, wallets: wallets.size, products: products.size, coupons: coupons.size, userCoupons, orders: orders.size, problems };
}
