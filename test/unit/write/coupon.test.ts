import { DomainError } from '../../../src/shared/domain/errors';
import { fold } from '../../../src/shared/domain/decider';
import { CouponCommand, CouponTerms } from '../../../src/write/coupon/commands';
import { couponDecider, issuedIn, parseUserCouponId, userCouponIdOf } from '../../../src/write/coupon/decider';
import { specFor } from '../../support/decider-spec';
import { couponCreated, couponId, couponIssued as issued, couponRestored as restored, couponTerms as terms, couponUsed as used, createdAt as created, now } from '../../support/coupons';

const given = specFor(couponDecider);

const create = (overrides: Partial<CouponTerms> = {}, at = created): CouponCommand => ({
  type: 'CreateCoupon',
  data: { couponId, ...terms(overrides), now: at },
});
const issue = (userId: string, at = now): CouponCommand => ({ type: 'IssueCoupon', data: { couponId, userId, now: at } });

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

describe('coupon: uses recorded in the campaign stream before user coupons had streams of their own', () => {
  const state = fold(couponDecider, couponDecider.initialState, [couponCreated(), issued('u1', 1), issued('u2', 2)]);
  it('folds them into the holder, as the user coupon starts from there', () => {
    expect(issuedIn(fold(couponDecider, state, [used('u1')]), 'c1:u1')).toMatchObject({ usedBy: 'o1', usedAt: now });
    expect(issuedIn(fold(couponDecider, state, [used('u1'), restored('u1')]), 'c1:u1')).toMatchObject({ usedBy: null, usedAt: null });
  });
  it('never changes a state it was given: older states still see what they saw', () => {
    const after = couponDecider.evolve(state, used('u1'));
    expect(state.holders.get('u1')!.usedBy).toBeNull();
    expect(after.holders.get('u1')!.usedBy).toBe('o1');
  });
  it('finds a user coupon only by an id of this campaign', () => {
    expect(issuedIn(state, 'c1:u2')).toMatchObject({ userId: 'u2', couponId: 'c1' });
    expect(issuedIn(state, 'c2:u2')).toBeUndefined();
    expect(issuedIn(state, 'c1:u9')).toBeUndefined();
    expect(issuedIn(state, 'garbage')).toBeUndefined();
  });
});
