import { fold } from '../../../src/shared/domain/decider';
import { CouponTerms } from '../../../src/write/coupon/commands';
import { couponDecider, userCouponIdOf } from '../../../src/write/coupon/decider';
import { CouponEvent } from '../../../src/write/coupon/events';
import { userCouponDecider } from '../../../src/write/usercoupon/decider';
import { UserCouponEvent } from '../../../src/write/usercoupon/events';
import { CancelInput, decideCancellation, decidePayment, decidePlacement, OrderEffects, OrderWorld, PayInput, PlaceInput } from '../../../src/write/order/checkout';
import { orderDecider } from '../../../src/write/order/decider';
import { OrderEvent, OrderPlaced } from '../../../src/write/order/events';
import { productDecider } from '../../../src/write/product/decider';
import { ProductEvent } from '../../../src/write/product/events';
import { walletDecider } from '../../../src/write/wallet/decider';
import { WalletEvent } from '../../../src/write/wallet/events';
import { decisionSpec } from '../../support/decider-spec';
import { productLine as line } from '../../support/orders';

/** What each aggregate has recorded before the step. */
interface Given {
  readonly order?: readonly OrderEvent[];
  readonly products?: Readonly<Record<string, readonly ProductEvent[]>>;
  /** Campaigns by coupon id. */
  readonly coupons?: Readonly<Record<string, readonly CouponEvent[]>>;
  /** User coupons' own streams, by user coupon id. */
  readonly userCoupons?: Readonly<Record<string, readonly UserCouponEvent[]>>;
  readonly wallet?: readonly WalletEvent[];
}

const worldOf = (given: Given): OrderWorld => ({
  order: fold(orderDecider, orderDecider.initialState, [...(given.order ?? [])]),
  products: new Map(Object.entries(given.products ?? {}).map(([id, events]) => [id, fold(productDecider, productDecider.initialState, [...events])])),
  coupons: new Map(Object.entries(given.coupons ?? {}).map(([id, events]) => [id, fold(couponDecider, couponDecider.initialState, [...events])])),
  userCoupons: new Map(Object.entries(given.userCoupons ?? {}).map(([id, events]) => [id, fold(userCouponDecider, userCouponDecider.initialState, [...events])])),
  wallet: fold(walletDecider, walletDecider.initialState, [...(given.wallet ?? [])]),
});

const placing = decisionSpec(worldOf, decidePlacement);
const paying = decisionSpec(worldOf, decidePayment);
const cancelling = decisionSpec(worldOf, decideCancellation);

const before = '2026-11-24T00:00:00.000Z';
const now = '2026-11-25T01:00:00.000Z';
const later = '2026-11-25T01:30:00.000Z';
const expiresAt = '2026-11-25T02:00:00.000Z';
const userCouponId = userCouponIdOf('c1', 'u1');

const registered = (productId: string, price: number, stock: number): ProductEvent => ({
  type: 'ProductRegistered',
  data: { productId, name: `Product ${productId}`, price, stock, occurredAt: before },
});
const charged = (amount: number): WalletEvent => ({ type: 'PointsCharged', data: { userId: 'u1', amount, balanceAfter: amount, occurredAt: before } });
const terms: CouponTerms = {
  name: 'Welcome',
  discount: { type: 'FIXED', amount: 300 },
  minOrderAmount: 1000,
  totalQuantity: 10,
  issueStartsAt: null,
  issueEndsAt: null,
  validUntil: null,
  validDays: null,
};
const created = (overrides: Partial<CouponTerms> = {}): CouponEvent => ({ type: 'CouponCreated', data: { couponId: 'c1', ...terms, ...overrides, occurredAt: before } });
const couponCreated = created();
const couponIssued = (userId = 'u1'): CouponEvent => ({
  type: 'CouponIssued',
  data: { couponId: 'c1', userCouponId: userCouponIdOf('c1', userId), userId, validUntil: null, issuedQuantity: 1, occurredAt: before },
});
const couponUsed = (orderId: string, at = before): CouponEvent & UserCouponEvent => ({ type: 'CouponUsed', data: { couponId: 'c1', userCouponId, userId: 'u1', orderId, occurredAt: at } });
const couponRestored = (orderId: string, at = before): CouponEvent & UserCouponEvent => ({
  type: 'CouponRestored',
  data: { couponId: 'c1', userCouponId, userId: 'u1', orderId, occurredAt: at },
});

const shop = { p1: [registered('p1', 1000, 5)], p2: [registered('p2', 500, 1)] };

const place = (overrides: Partial<PlaceInput> = {}): PlaceInput => ({
  orderId: 'o1',
  userId: 'u1',
  lines: [
    { kind: 'PRODUCT', productId: 'p1', quantity: 2 },
    { kind: 'PRODUCT', productId: 'p2', quantity: 1 },
  ],
  userCouponId,
  now,
  expiresAt,
  ...overrides,
});
const placed = (overrides: Partial<OrderPlaced['data']> = {}): OrderPlaced => ({
  type: 'OrderPlaced',
  data: {
    orderId: 'o1',
    userId: 'u1',
    orderType: 'NORMAL',
    lines: [line('p1', 1000, 2), line('p2', 500, 1)],
    coupon: { userCouponId, couponId: 'c1', discount: 300 },
    subtotal: 2500,
    discount: 300,
    total: 2200,
    occurredAt: now,
    expiresAt,
    ...overrides,
  },
});
const withoutCoupon = { coupon: null, discount: 0, total: 2500 };

describe('checkout: placing an order', () => {
  const ready: Given = { products: shop, coupons: { c1: [couponCreated, couponIssued()] }, wallet: [charged(2200)] };

  it('prices the lines from the products and takes the coupon discount, taking nothing yet', () =>
    placing(ready).when(place()).then([placed()]));
  it('places an order without a coupon at the full subtotal', () =>
    placing({ ...ready, wallet: [charged(2500)] })
      .when(place({ userCouponId: null }))
      .then([placed(withoutCoupon)]));
  it('refuses a product that was never registered', () =>
    placing(ready)
      .when(place({ lines: [{ kind: 'PRODUCT', productId: 'p9', quantity: 1 }] }))
      .thenFails('PRODUCT_NOT_FOUND'));
  it('refuses more than the stock, by the product rule', () =>
    placing(ready)
      .when(place({ lines: [{ kind: 'PRODUCT', productId: 'p2', quantity: 2 }], userCouponId: null }))
      .thenFails('OUT_OF_STOCK'));
  it('refuses a total the balance does not cover, by the wallet rule', () =>
    placing({ ...ready, wallet: [charged(2199)] }).when(place()).thenFails('POINTS_INSUFFICIENT'));
  it('needs no points for an order the coupon makes free', () =>
    placing({ products: { p2: [registered('p2', 300, 1)] }, coupons: { c1: [created({ minOrderAmount: 0 }), couponIssued()] } })
      .when(place({ lines: [{ kind: 'PRODUCT', productId: 'p2', quantity: 1 }] }))
      .then([placed({ lines: [line('p2', 300, 1)], subtotal: 300, discount: 300, total: 0 })]));
  it("refuses another user's coupon", () =>
    placing({ ...ready, coupons: { c1: [couponCreated, couponIssued('u2')] } })
      .when(place({ userCouponId: userCouponIdOf('c1', 'u2') }))
      .thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses a coupon already used by another order', () =>
    placing({ ...ready, userCoupons: { [userCouponId]: [couponUsed('o0')] } }).when(place()).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses a coupon used by another order before uses had streams of their own', () =>
    placing({ ...ready, coupons: { c1: [couponCreated, couponIssued(), couponUsed('o0')] } }).when(place()).thenFails('COUPON_NOT_APPLICABLE'));
  it('takes a coupon given back since', () =>
    placing({ ...ready, userCoupons: { [userCouponId]: [couponUsed('o0'), couponRestored('o0')] } }).when(place()).then([placed()]));
  it('refuses a coupon below its minimum order amount', () =>
    placing(ready)
      .when(place({ lines: [{ kind: 'PRODUCT', productId: 'p2', quantity: 1 }] }))
      .thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses to place the same order twice', () => placing({ ...ready, order: [placed()] }).when(place()).thenFails('ORDER_ALREADY_EXISTS'));
});

/** Paying order `orderId` (placed()'s lines and coupon) in a shop with the stock and points it needs. */
const payment = (orderId: string, overrides: Partial<OrderEffects> = {}): OrderEffects => ({
  order: [{ type: 'OrderPaid', data: { orderId, userId: 'u1', total: 2200, payer: null, occurredAt: later } }],
  products: new Map([
    ['p1', [{ type: 'StockDecreased', data: { productId: 'p1', orderId, quantity: 2, stockAfter: 3, occurredAt: later } }]],
    ['p2', [{ type: 'StockDecreased', data: { productId: 'p2', orderId, quantity: 1, stockAfter: 0, occurredAt: later } }]],
  ]),
  userCoupons: new Map([[userCouponId, [couponUsed(orderId, later)]]]),
  wallet: [{ type: 'PointsUsed', data: { userId: 'u1', amount: 2200, orderId, balanceAfter: 0, occurredAt: later } }],
  ...overrides,
});

describe('checkout: paying an order', () => {
  const pay = (userId = 'u1'): PayInput => ({ orderId: 'o1', userId, payer: null, now: later });
  const ready: Given = { order: [placed()], products: shop, coupons: { c1: [couponCreated, couponIssued()] }, wallet: [charged(2200)] };
  const effects = (overrides: Partial<OrderEffects> = {}) => payment('o1', overrides);

  it('marks the order paid, takes the stock, uses the coupon and the points at the order prices', () =>
    paying({ ...ready, products: { p1: [...shop.p1, { type: 'ProductUpdated', data: { productId: 'p1', name: 'Product p1', price: 9999, occurredAt: now } }], p2: shop.p2 } })
      .when(pay())
      .then(effects()));
  it('uses no coupon on an order without one', () =>
    paying({ ...ready, order: [placed(withoutCoupon)], wallet: [charged(2500)] })
      .when(pay())
      .then(
        effects({
          order: [{ type: 'OrderPaid', data: { orderId: 'o1', userId: 'u1', total: 2500, payer: null, occurredAt: later } }],
          userCoupons: new Map(),
          wallet: [{ type: 'PointsUsed', data: { userId: 'u1', amount: 2500, orderId: 'o1', balanceAfter: 0, occurredAt: later } }],
        }),
      ));
  it('refuses when the stock sold out since the order was placed', () =>
    paying({ ...ready, products: { ...shop, p2: [...shop.p2, { type: 'StockDecreased', data: { productId: 'p2', orderId: 'o0', quantity: 1, stockAfter: 0, occurredAt: now } }] } })
      .when(pay())
      .thenFails('OUT_OF_STOCK'));
  it('refuses when the points were spent since', () =>
    paying({ ...ready, wallet: [charged(2200), { type: 'PointsUsed', data: { userId: 'u1', amount: 1, orderId: 'o0', balanceAfter: 2199, occurredAt: now } }] })
      .when(pay())
      .thenFails('POINTS_INSUFFICIENT'));
  it('refuses when the coupon was used by another order since', () =>
    paying({ ...ready, userCoupons: { [userCouponId]: [couponUsed('o0')] } }).when(pay()).thenFails('COUPON_NOT_APPLICABLE'));
  it('writes to the campaign never: it only reads its terms and issue', () =>
    paying({ ...ready, coupons: { c1: [couponCreated, couponIssued('u2'), couponIssued()] } })
      .when(pay())
      .then(effects()));
  it('knows no unknown order', () => paying({ wallet: [charged(2200)] }).when(pay()).thenFails('ORDER_NOT_FOUND'));
  it("hides another user's order", () => paying(ready).when(pay('u2')).thenFails('ORDER_NOT_FOUND'));
  it('refuses to pay twice', () =>
    paying({ ...ready, order: [placed(), { type: 'OrderPaid', data: { orderId: 'o1', userId: 'u1', total: 2200, payer: null, occurredAt: later } }] })
      .when(pay())
      .thenFails('ORDER_NOT_PAYABLE'));
  it('refuses an order past its expiry', () => paying(ready).when({ ...pay(), now: expiresAt }).thenFails('ORDER_EXPIRED'));
});

describe('checkout: cancelling an order', () => {
  const cancel = (overrides: Partial<CancelInput> = {}): CancelInput => ({ orderId: 'o1', userId: 'u1', now: later, ...overrides });
  const paid = (total = 2200): OrderEvent => ({ type: 'OrderPaid', data: { orderId: 'o1', userId: 'u1', total, payer: null, occurredAt: now } });
  const taken = (productId: string, quantity: number, stockAfter: number): ProductEvent => ({
    type: 'StockDecreased',
    data: { productId, orderId: 'o1', quantity, stockAfter, occurredAt: now },
  });
  const restored = (productId: string, quantity: number, stockAfter: number): ProductEvent => ({
    type: 'StockRestored',
    data: { productId, orderId: 'o1', quantity, stockAfter, occurredAt: later },
  });
  const cancelled = (refunded: boolean, at = later): OrderEvent => ({ type: 'OrderCancelled', data: { orderId: 'o1', userId: 'u1', refunded, occurredAt: at } });
  const paidOrder: Given = {
    order: [placed(), paid()],
    products: { p1: [...shop.p1, taken('p1', 2, 3)], p2: [...shop.p2, taken('p2', 1, 0)] },
    coupons: { c1: [couponCreated, couponIssued()] },
    userCoupons: { [userCouponId]: [couponUsed('o1', now)] },
    wallet: [charged(2200), { type: 'PointsUsed', data: { userId: 'u1', amount: 2200, orderId: 'o1', balanceAfter: 0, occurredAt: now } }],
  };
  const refund: OrderEffects = {
    order: [cancelled(true)],
    products: new Map([
      ['p1', [restored('p1', 2, 5)]],
      ['p2', [restored('p2', 1, 1)]],
    ]),
    userCoupons: new Map([[userCouponId, [couponRestored('o1', later)]]]),
    wallet: [{ type: 'PointsRefunded', data: { userId: 'u1', amount: 2200, orderId: 'o1', balanceAfter: 2200, occurredAt: later } }],
  };
  const justCancelled: OrderEffects = { order: [cancelled(false)], products: new Map(), userCoupons: new Map(), wallet: [] };

  it('refunds a paid order: the stock of each line, its coupon and its points come back', () => cancelling(paidOrder).when(cancel()).then(refund));
  it('refunds no points to a paid order the coupon made free', () =>
    cancelling({
      order: [placed({ lines: [line('p2', 300, 1)], subtotal: 300, discount: 300, total: 0 }), paid(0)],
      products: { p2: [registered('p2', 300, 1), taken('p2', 1, 0)] },
      coupons: { c1: [created({ minOrderAmount: 0 }), couponIssued()] },
      userCoupons: { [userCouponId]: [couponUsed('o1', now)] },
    })
      .when(cancel())
      .then({ order: [cancelled(true)], products: new Map([['p2', [restored('p2', 1, 1)]]]), userCoupons: refund.userCoupons, wallet: [] }));
  it('just cancels a pending order: it took nothing to give back', () =>
    cancelling({ order: [placed()], products: shop, coupons: { c1: [couponCreated, couponIssued()] }, wallet: [charged(2200)] })
      .when(cancel({ seenStatus: 'PENDING' }))
      .then(justCancelled));
  it('still cancels a pending order past its expiry', () =>
    cancelling({ order: [placed()] })
      .when(cancel({ now: expiresAt }))
      .then({ ...justCancelled, order: [cancelled(false, expiresAt)] }));
  it('refuses an order cancelled already', () => cancelling({ order: [placed(), cancelled(false)] }).when(cancel()).thenFails('ORDER_NOT_CANCELLABLE'));
  it('refuses to refund an order paid while its cancellation was asked of it pending', () =>
    cancelling(paidOrder).when(cancel({ seenStatus: 'PENDING' })).thenFails('ORDER_NOT_CANCELLABLE'));
  it('knows no unknown order', () => cancelling({}).when(cancel()).thenFails('ORDER_NOT_FOUND'));
  it("hides another user's order", () => cancelling(paidOrder).when(cancel({ userId: 'u2' })).thenFails('ORDER_NOT_FOUND'));

  /**
   * Logs written before user coupons had streams of their own hold the use in the campaign
   * stream; the user coupon's stream carries on from there.
   */
  describe('an order paid with a coupon before the upgrade, cancelled after it', () => {
    const beforeUpgrade: Given = { ...paidOrder, coupons: { c1: [couponCreated, couponIssued(), couponUsed('o1', now)] }, userCoupons: {} };
    const o2 = { orderId: 'o2' };
    const afterCancel: Given = {
      ...beforeUpgrade,
      order: [placed(o2)],
      products: shop,
      userCoupons: { [userCouponId]: [couponRestored('o1', later)] },
      wallet: [charged(2200)],
    };

    it('gives the coupon back on its own stream, not on the campaign', () => cancelling(beforeUpgrade).when(cancel()).then(refund));
    it('until then, no other order could use it', () =>
      paying({ ...beforeUpgrade, order: [placed(o2)], products: shop, wallet: [charged(2200)] })
        .when({ orderId: 'o2', userId: 'u1', payer: null, now: later })
        .thenFails('COUPON_NOT_APPLICABLE'));
    it('once given back, another order places and pays with it, used on its own stream', () => {
      placing({ ...afterCancel, order: [] }).when(place(o2)).then([placed(o2)]);
      paying(afterCancel).when({ orderId: 'o2', userId: 'u1', payer: null, now: later }).then(payment('o2'));
    });
  });
});
