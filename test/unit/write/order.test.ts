import { orderDecider } from '../../../src/write/order/decider';
import { OrderCommand } from '../../../src/write/order/commands';
import { OrderEvent } from '../../../src/write/order/events';
import { specFor } from '../../support/decider-spec';
import { productLine as line } from '../../support/orders';

const given = specFor(orderDecider);
const now = '2026-11-25T01:00:00.000Z';
const later = '2026-11-25T02:00:00.000Z';
const expiresAt = '2026-11-25T03:00:00.000Z';

const lines = [line('p1', 1000, 2), line('p2', 500, 1)];
const coupon = { userCouponId: 'uc1', couponId: 'c1', discount: 300 };

const place = (overrides: Partial<Extract<OrderCommand, { type: 'PlaceOrder' }>['data']> = {}): OrderCommand => ({
  type: 'PlaceOrder',
  data: { orderId: 'o1', userId: 'u1', orderType: 'NORMAL', lines, coupon, now, expiresAt, ...overrides },
});
const placed: OrderEvent = {
  type: 'OrderPlaced',
  data: { orderId: 'o1', userId: 'u1', orderType: 'NORMAL', lines, coupon, subtotal: 2500, discount: 300, total: 2200, occurredAt: now, expiresAt },
};
const paid: OrderEvent = { type: 'OrderPaid', data: { orderId: 'o1', userId: 'u1', total: 2200, payer: null, occurredAt: later } };
const cancelled = (refunded: boolean): OrderEvent => ({ type: 'OrderCancelled', data: { orderId: 'o1', userId: 'u1', refunded, occurredAt: later } });
const pay = (userId = 'u1', at = later): OrderCommand => ({ type: 'MarkPaid', data: { orderId: 'o1', userId, payer: null, now: at } });
const cancel = (userId = 'u1', at = later): OrderCommand => ({ type: 'CancelOrder', data: { orderId: 'o1', userId, now: at } });
const fail = (reason: string): OrderCommand => ({ type: 'RecordPaymentFailure', data: { orderId: 'o1', userId: 'u1', reason, now: later } });

describe('order: placing', () => {
  it('prices the order from its lines and the coupon discount', () => given().when(place()).then([placed]));
  it('places an order without a coupon at the full subtotal', () =>
    given()
      .when(place({ coupon: null }))
      .then([{ ...placed, data: { ...placed.data, coupon: null, discount: 0, total: 2500 } } as OrderEvent]));
  it('refuses to place the same order twice', () => given(placed).when(place()).thenFails('ORDER_ALREADY_EXISTS'));
  it('refuses an empty order', () => given().when(place({ lines: [] })).thenFails('ORDER_INVALID'));
  it('refuses more than 50 lines', () =>
    given()
      .when(place({ lines: Array.from({ length: 51 }, (_, i) => line(`p${i}`, 1, 1)), coupon: null }))
      .thenFails('ORDER_INVALID'));
  it('refuses the same product twice', () => given().when(place({ lines: [line('p1', 1, 1), line('p1', 1, 2)] })).thenFails('ORDER_INVALID'));
  it('refuses a line whose amount does not match', () =>
    given().when(place({ lines: [{ ...line('p1', 100, 2), amount: 150 }], coupon: null })).thenFails('ORDER_INVALID'));
  it('refuses a discount above the subtotal', () =>
    given().when(place({ coupon: { ...coupon, discount: 2501 } })).thenFails('ORDER_INVALID'));
  it('takes a discount equal to the subtotal (a free order)', () =>
    given()
      .when(place({ coupon: { ...coupon, discount: 2500 } }))
      .then([{ ...placed, data: { ...placed.data, coupon: { ...coupon, discount: 2500 }, discount: 2500, total: 0 } } as OrderEvent]));
});

describe('order: paying', () => {
  it('marks a pending order paid', () => given(placed).when(pay()).then([paid]));
  it('refuses to pay twice', () => given(placed, paid).when(pay()).thenFails('ORDER_NOT_PAYABLE'));
  it('refuses to pay a cancelled order', () => given(placed, cancelled(false)).when(pay()).thenFails('ORDER_NOT_PAYABLE'));
  it("hides another user's order", () => given(placed).when(pay('u2')).thenFails('ORDER_NOT_FOUND'));
  it('knows no unknown order', () => given().when(pay()).thenFails('ORDER_NOT_FOUND'));
  it('records a failed payment and stays payable', () => {
    given(placed)
      .when(fail('OUT_OF_STOCK'))
      .then([{ type: 'PaymentFailed', data: { orderId: 'o1', userId: 'u1', reason: 'OUT_OF_STOCK', occurredAt: later } }]);
    given(placed, { type: 'PaymentFailed', data: { orderId: 'o1', userId: 'u1', reason: 'OUT_OF_STOCK', occurredAt: later } })
      .when(pay())
      .then([paid]);
  });
});

describe('order: expiring unpaid', () => {
  const justBefore = '2026-11-25T02:59:59.999Z';
  it('records when the order expires', () => given().when(place()).then([placed]));
  it('refuses an expiry that is not after the placing', () => given().when(place({ expiresAt: now })).thenFails('ORDER_INVALID'));
  it('is paid up to the last millisecond before it expires', () =>
    given(placed).when(pay('u1', justBefore)).then([{ ...paid, data: { ...paid.data, occurredAt: justBefore } } as OrderEvent]));
  it('refuses a payment at its expiry', () => given(placed).when(pay('u1', expiresAt)).thenFails('ORDER_EXPIRED'));
  it('refuses a payment after its expiry', () => given(placed).when(pay('u1', '2026-12-25T00:00:00.000Z')).thenFails('ORDER_EXPIRED'));
  it('still says a paid order cannot be paid again, after its expiry too', () =>
    given(placed, paid).when(pay('u1', '2026-12-25T00:00:00.000Z')).thenFails('ORDER_NOT_PAYABLE'));
  it('cancels an expired order, without a refund', () =>
    given(placed).when(cancel('u1', '2026-12-25T00:00:00.000Z')).then([{ ...cancelled(false), data: { ...cancelled(false).data, occurredAt: '2026-12-25T00:00:00.000Z' } } as OrderEvent]));
  it('gives an order placed before expiry was recorded the default 30 minutes, the same on every replay', () => {
    const { expiresAt: _none, ...legacy } = placed.data as Extract<OrderEvent, { type: 'OrderPlaced' }>['data'];
    const old = { type: 'OrderPlaced', data: legacy } as OrderEvent;
    given(old).when(pay('u1', '2026-11-25T01:29:59.999Z')).then([{ ...paid, data: { ...paid.data, occurredAt: '2026-11-25T01:29:59.999Z' } } as OrderEvent]);
    given(old).when(pay('u1', '2026-11-25T01:30:00.000Z')).thenFails('ORDER_EXPIRED');
  });
});

describe('order: cancelling', () => {
  it('cancels a pending order without refund', () => given(placed).when(cancel()).then([cancelled(false)]));
  it('cancels a paid order with a refund', () => given(placed, paid).when(cancel()).then([cancelled(true)]));
  it('refuses to cancel twice', () => given(placed, cancelled(false)).when(cancel()).thenFails('ORDER_NOT_CANCELLABLE'));
  it("hides another user's order", () => given(placed).when(cancel('u2')).thenFails('ORDER_NOT_FOUND'));
  it('refuses a cancellation of the pending order it saw once a payment won the race', () =>
    given(placed, paid)
      .when({ type: 'CancelOrder', data: { orderId: 'o1', userId: 'u1', seenStatus: 'PENDING', now: later } })
      .thenFails('ORDER_NOT_CANCELLABLE'));
  it('refunds when the request saw the order paid', () =>
    given(placed, paid)
      .when({ type: 'CancelOrder', data: { orderId: 'o1', userId: 'u1', seenStatus: 'PAID', now: later } })
      .then([cancelled(true)]));
});

describe('order: state', () => {
  it('keeps the status history in order', () => {
    const state = [placed, paid, cancelled(true)].reduce(orderDecider.evolve, orderDecider.initialState);
    expect(state.exists && state.history.map((h) => h.status)).toEqual(['PENDING', 'PAID', 'CANCELLED']);
    expect(state.exists && state.paidAt).toBe(later);
  });
});
