import { DomainError } from '../../../src/shared/domain/errors';
import { fold } from '../../../src/shared/domain/decider';
import { CouponCommand, CouponTerms } from '../../../src/write/coupon/commands';
import {
  checkCouponApplicable,
  couponDecider,
  parseUserCouponId,
  userCouponIdOf,
} from '../../../src/write/coupon/decider';
import { CouponEvent } from '../../../src/write/coupon/events';
import { specFor } from '../../support/decider-spec';

const given = specFor(couponDecider);
const couponId = 'c1';
const created = '2026-11-01T00:00:00.000Z';
const now = '2026-11-25T00:00:00.000Z';

const terms = (overrides: Partial<CouponTerms> = {}): CouponTerms => ({
  name: 'Welcome',
  discount: { type: 'FIXED', amount: 1000 },
  minOrderAmount: 10_000,
  totalQuantity: 2,
  issueStartsAt: null,
  issueEndsAt: null,
  validUntil: null,
  validDays: null,
  ...overrides,
});

const create = (overrides: Partial<CouponTerms> = {}, at = created): CouponCommand => ({
  type: 'CreateCoupon',
  data: { couponId, ...terms(overrides), now: at },
});
const couponCreated = (overrides: Partial<CouponTerms> = {}): CouponEvent => ({
  type: 'CouponCreated',
  data: { couponId, ...terms(overrides), occurredAt: created },
});
const issue = (userId: string, at = now): CouponCommand => ({ type: 'IssueCoupon', data: { couponId, userId, now: at } });
const issued = (userId: string, issuedQuantity: number, validUntil: string | null = null, at = now): CouponEvent => ({
  type: 'CouponIssued',
  data: { couponId, userCouponId: `c1:${userId}`, userId, validUntil, issuedQuantity, occurredAt: at },
});
const use = (userId: string, orderId = 'o1', subtotal = 20_000, at = now, userCouponId = `c1:${userId}`): CouponCommand => ({
  type: 'UseCoupon',
  data: { userCouponId, userId, orderId, subtotal, now: at },
});
const used = (userId: string, orderId = 'o1', at = now): CouponEvent => ({
  type: 'CouponUsed',
  data: { couponId, userCouponId: `c1:${userId}`, userId, orderId, occurredAt: at },
});
const restore = (userId: string, orderId = 'o1'): CouponCommand => ({
  type: 'RestoreCoupon',
  data: { userCouponId: `c1:${userId}`, orderId, now },
});
const restored = (userId: string, orderId = 'o1'): CouponEvent => ({
  type: 'CouponRestored',
  data: { couponId, userCouponId: `c1:${userId}`, userId, orderId, occurredAt: now },
});

function problemsOf(command: CouponCommand): string[] {
  try {
    couponDecider.decide(command, couponDecider.initialState);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('COUPON_INVALID');
    return (error as DomainError).details!.problems as string[];
  }
  throw new Error('expected COUPON_INVALID');
}

describe('coupon: creating', () => {
  it('creates a coupon with its terms, the name trimmed', () =>
    given().when(create({ name: '  Welcome  ' })).then([couponCreated()]));
  it('accepts a percent discount with a cap, a window and days of validity', () => {
    const window = { issueStartsAt: '2026-11-02T00:00:00.000Z', issueEndsAt: '2026-11-03T00:00:00.000Z' };
    const percent = { discount: { type: 'PERCENT' as const, percent: 10, maxDiscount: 5000 }, validDays: 7, ...window };
    given().when(create(percent)).then([couponCreated(percent)]);
  });
  it('refuses to create a coupon twice', () => given(couponCreated()).when(create()).thenFails('COUPON_ALREADY_EXISTS'));
  it.each<[string, Partial<CouponTerms>, string]>([
    ['a blank name', { name: '   ' }, 'name'],
    ['a zero fixed amount', { discount: { type: 'FIXED', amount: 0 } }, 'discount.amount'],
    ['a percent over 100', { discount: { type: 'PERCENT', percent: 101 } }, 'discount.percent'],
    ['a fractional percent', { discount: { type: 'PERCENT', percent: 2.5 } }, 'discount.percent'],
    ['a zero cap', { discount: { type: 'PERCENT', percent: 5, maxDiscount: 0 } }, 'discount.maxDiscount'],
    ['a negative minimum', { minOrderAmount: -1 }, 'minOrderAmount'],
    ['no coupons', { totalQuantity: 0 }, 'totalQuantity'],
    ['more than a million coupons', { totalQuantity: 1_000_001 }, 'totalQuantity'],
    ['a window ending before it starts', { issueStartsAt: '2026-11-05T00:00:00.000Z', issueEndsAt: '2026-11-04T00:00:00.000Z' }, 'issueEndsAt'],
    ['an empty window', { issueStartsAt: '2026-11-05T00:00:00.000Z', issueEndsAt: '2026-11-05T00:00:00.000Z' }, 'issueEndsAt'],
    ['a window already over', { issueEndsAt: '2026-10-31T00:00:00.000Z' }, 'issueEndsAt'],
    ['both validUntil and validDays', { validUntil: '2026-12-01T00:00:00.000Z', validDays: 3 }, 'validUntil or validDays'],
    ['a validity already over', { validUntil: '2026-10-01T00:00:00.000Z' }, 'validUntil'],
    ['a validity ending before issuing starts', { issueStartsAt: '2026-12-01T00:00:00.000Z', validUntil: '2026-11-15T00:00:00.000Z' }, 'validUntil'],
    ['zero days of validity', { validDays: 0 }, 'validDays'],
    ['an unreadable instant', { issueStartsAt: 'soon' }, 'issueStartsAt'],
  ])('refuses %s', (_label, overrides, field) => {
    const problems = problemsOf(create(overrides));
    expect(problems.some((p) => p.includes(field))).toBe(true);
  });
  it('lists every problem at once', () => expect(problemsOf(create({ name: '', totalQuantity: 0, minOrderAmount: -5 }))).toHaveLength(3));
});

describe('coupon: issuing', () => {
  it('issues to a user, numbering the issue', () => given(couponCreated()).when(issue('u1')).then([issued('u1', 1)]));
  it('issues up to the quantity exactly', () => given(couponCreated(), issued('u1', 1)).when(issue('u2')).then([issued('u2', 2)]));
  it('refuses once every coupon is issued', () =>
    given(couponCreated(), issued('u1', 1), issued('u2', 2)).when(issue('u3')).thenFails('COUPON_SOLD_OUT'));
  it('refuses a second coupon to the same user', () => given(couponCreated(), issued('u1', 1)).when(issue('u1')).thenFails('COUPON_ALREADY_ISSUED'));
  it('says already issued rather than sold out to a holder', () =>
    given(couponCreated(), issued('u1', 1), issued('u2', 2)).when(issue('u1')).thenFails('COUPON_ALREADY_ISSUED'));
  it('refuses a coupon that does not exist', () => given().when(issue('u1')).thenFails('COUPON_NOT_FOUND'));

  const window = { issueStartsAt: '2026-11-24T00:00:00.000Z', issueEndsAt: '2026-11-26T00:00:00.000Z' };
  it('issues from the first instant of the window', () =>
    given(couponCreated(window)).when(issue('u1', window.issueStartsAt)).then([issued('u1', 1, null, window.issueStartsAt)]));
  it('refuses before the window', () => given(couponCreated(window)).when(issue('u1', '2026-11-23T23:59:59.999Z')).thenFails('COUPON_NOT_ISSUABLE'));
  it('refuses from the end of the window on', () => given(couponCreated(window)).when(issue('u1', window.issueEndsAt)).thenFails('COUPON_NOT_ISSUABLE'));
  it('refuses outside the window even when sold out', () =>
    given(couponCreated({ ...window, totalQuantity: 1 }), issued('u2', 1)).when(issue('u1', '2026-11-27T00:00:00.000Z')).thenFails('COUPON_NOT_ISSUABLE'));

  it('gives a fixed validUntil to every issue', () =>
    given(couponCreated({ validUntil: '2026-12-31T00:00:00.000Z' })).when(issue('u1')).then([issued('u1', 1, '2026-12-31T00:00:00.000Z')]));
  it('counts validDays from the issue', () =>
    given(couponCreated({ validDays: 7 })).when(issue('u1')).then([issued('u1', 1, '2026-12-02T00:00:00.000Z')]));
  it('no longer issues once a fixed validity is over', () =>
    given(couponCreated({ validUntil: '2026-11-20T00:00:00.000Z' })).when(issue('u1')).thenFails('COUPON_NOT_ISSUABLE'));
});

describe('coupon: user coupon ids', () => {
  it('derives one id per coupon and user and splits it back', () => {
    expect(userCouponIdOf('c-1', 'a.b@c')).toBe('c-1:a.b@c');
    expect(parseUserCouponId('c-1:a.b@c')).toEqual({ couponId: 'c-1', userId: 'a.b@c' });
  });
  it.each(['', 'nocolon', ':u1', 'c1:'])('does not parse %p', (id) => expect(parseUserCouponId(id)).toBeNull());
});

describe('coupon: using and restoring', () => {
  const held = [couponCreated(), issued('u1', 1)];
  it('uses a held coupon for an order', () => given(...held).when(use('u1')).then([used('u1')]));
  it('does nothing when the same order uses it again', () => given(...held, used('u1')).when(use('u1')).thenNothingHappens());
  it('refuses another order once used', () => given(...held, used('u1')).when(use('u1', 'o2')).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses a coupon the user does not hold', () => given(...held).when(use('u2', 'o1', 20_000, now, 'c1:u1')).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses a coupon never issued', () => given(couponCreated()).when(use('u1')).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses an id of another coupon', () => given(...held).when(use('u1', 'o1', 20_000, now, 'c2:u1')).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses an order below the minimum', () => given(...held).when(use('u1', 'o1', 9_999)).thenFails('COUPON_NOT_APPLICABLE'));
  it('accepts an order at the minimum', () => given(...held).when(use('u1', 'o1', 10_000)).then([used('u1')]));
  it('refuses an expired coupon, from the instant it expires', () =>
    given(couponCreated({ validDays: 1 }), issued('u1', 1, '2026-11-26T00:00:00.000Z'))
      .when(use('u1', 'o1', 20_000, '2026-11-26T00:00:00.000Z'))
      .thenFails('COUPON_NOT_APPLICABLE'));
  it('restores the coupon the order used', () => given(...held, used('u1')).when(restore('u1')).then([restored('u1')]));
  it('restores once only', () => given(...held, used('u1'), restored('u1')).when(restore('u1')).thenNothingHappens());
  it('does not restore for another order', () => given(...held, used('u1')).when(restore('u1', 'o2')).thenNothingHappens());
  it('does not restore an unused coupon', () => given(...held).when(restore('u1')).thenNothingHappens());
  it('lets a restored coupon be used again', () => given(...held, used('u1'), restored('u1')).when(use('u1', 'o2')).then([used('u1', 'o2')]));
});

describe('checkCouponApplicable', () => {
  const state = (...events: CouponEvent[]) => fold(couponDecider, couponDecider.initialState, events);
  const reasonOf = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      expect((error as DomainError).code).toBe('COUPON_NOT_APPLICABLE');
      return (error as DomainError).details!.reason;
    }
    throw new Error('expected COUPON_NOT_APPLICABLE');
  };

  it('says what the coupon takes off', () => {
    const s = state(couponCreated({ discount: { type: 'PERCENT', percent: 10, maxDiscount: 1500 } }), issued('u1', 1));
    expect(checkCouponApplicable(s, 'c1:u1', 'u1', 12_345, now)).toMatchObject({ discount: 1234, userCoupon: { userId: 'u1', usedBy: null } });
    expect(checkCouponApplicable(s, 'c1:u1', 'u1', 20_000, now).discount).toBe(1500);
  });
  it('gives the reason of a refusal', () => {
    const s = state(couponCreated(), issued('u1', 1, '2026-11-30T00:00:00.000Z'), issued('u2', 2), used('u2'));
    expect(reasonOf(() => checkCouponApplicable(s, 'c1:u1', 'u9', 20_000, now))).toBe('NOT_OWNED');
    expect(reasonOf(() => checkCouponApplicable(s, 'garbage', 'u1', 20_000, now))).toBe('NOT_OWNED');
    expect(reasonOf(() => checkCouponApplicable(s, 'c1:u2', 'u2', 20_000, now))).toBe('USED');
    expect(reasonOf(() => checkCouponApplicable(s, 'c1:u1', 'u1', 20_000, '2026-12-01T00:00:00.000Z'))).toBe('EXPIRED');
    expect(reasonOf(() => checkCouponApplicable(s, 'c1:u1', 'u1', 100, now))).toBe('BELOW_MINIMUM');
  });
  it('never changes a state it was given: older states still see what they saw', () => {
    const before = state(couponCreated(), issued('u1', 1));
    const after = couponDecider.evolve(before, used('u1') as never);
    expect(before.holders.get('u1')!.usedBy).toBeNull();
    expect(after.holders.get('u1')!.usedBy).toBe('o1');
  });
});
