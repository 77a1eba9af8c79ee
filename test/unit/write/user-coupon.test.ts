import { DomainError } from '../../../src/shared/domain/errors';
import { fold } from '../../../src/shared/domain/decider';
import { couponDecider, CouponState } from '../../../src/write/coupon/decider';
import { CouponEvent } from '../../../src/write/coupon/events';
import { UserCouponCommand } from '../../../src/write/usercoupon/commands';
import { checkCouponApplicable, userCouponDecider, UserCouponState } from '../../../src/write/usercoupon/decider';
import { UserCouponEvent } from '../../../src/write/usercoupon/events';
import { specFor } from '../../support/decider-spec';
import { couponCreated, couponIssued as issued, couponRestored as restored, couponUsed as used, now } from '../../support/coupons';

const given = specFor(userCouponDecider);
const campaignOf = (...events: CouponEvent[]): CouponState => fold(couponDecider, couponDecider.initialState, events);
/** The campaign as a checkout reads it: created, and u1's coupon issued. */
const held = campaignOf(couponCreated(), issued('u1', 1));

const use = (userId: string, orderId = 'o1', subtotal = 20_000, at = now, userCouponId = `c1:${userId}`, campaign = held): UserCouponCommand => ({
  type: 'UseCoupon',
  data: { userCouponId, userId, orderId, subtotal, now: at, campaign },
});
const restore = (userId: string, orderId = 'o1', campaign = held): UserCouponCommand => ({
  type: 'RestoreCoupon',
  data: { userCouponId: `c1:${userId}`, orderId, now, campaign },
});

describe('user coupon: using and restoring', () => {
  it('uses a held coupon for an order', () => given().when(use('u1')).then([used('u1')]));
  it('does nothing when the same order uses it again', () => given(used('u1')).when(use('u1')).thenNothingHappens());
  it('refuses another order once used', () => given(used('u1')).when(use('u1', 'o2')).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses a coupon the user does not hold', () => given().when(use('u2', 'o1', 20_000, now, 'c1:u1')).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses a coupon never issued', () => given().when(use('u1', 'o1', 20_000, now, 'c1:u1', campaignOf(couponCreated()))).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses a coupon of a campaign that does not exist', () => given().when(use('u1', 'o1', 20_000, now, 'c1:u1', campaignOf())).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses an id of another coupon', () => given().when(use('u1', 'o1', 20_000, now, 'c2:u1')).thenFails('COUPON_NOT_APPLICABLE'));
  it('refuses an order below the minimum', () => given().when(use('u1', 'o1', 9_999)).thenFails('COUPON_NOT_APPLICABLE'));
  it('accepts an order at the minimum', () => given().when(use('u1', 'o1', 10_000)).then([used('u1')]));
  it('refuses an expired coupon, from the instant it expires', () =>
    given()
      .when(use('u1', 'o1', 20_000, '2026-11-26T00:00:00.000Z', 'c1:u1', campaignOf(couponCreated({ validDays: 1 }), issued('u1', 1, '2026-11-26T00:00:00.000Z'))))
      .thenFails('COUPON_NOT_APPLICABLE'));
  it('restores the coupon the order used', () => given(used('u1')).when(restore('u1')).then([restored('u1')]));
  it('restores once only', () => given(used('u1'), restored('u1')).when(restore('u1')).thenNothingHappens());
  it('does not restore for another order', () => given(used('u1')).when(restore('u1', 'o2')).thenNothingHappens());
  it('does not restore an unused coupon', () => given().when(restore('u1')).thenNothingHappens());
  it('lets a restored coupon be used again', () => given(used('u1'), restored('u1')).when(use('u1', 'o2')).then([used('u1', 'o2')]));
});

/**
 * Logs from before user coupons had streams of their own hold uses in the campaign stream: the
 * use is the campaign's, then this stream's events on top.
 */
describe('user coupon: a use recorded in the campaign stream before the upgrade', () => {
  const usedBefore = campaignOf(couponCreated(), issued('u1', 1), used('u1', 'o1'));
  it('still counts: another order cannot use it', () => given().when(use('u1', 'o2', 20_000, now, 'c1:u1', usedBefore)).thenFails('COUPON_NOT_APPLICABLE'));
  it('is not used twice by its own order either', () => given().when(use('u1', 'o1', 20_000, now, 'c1:u1', usedBefore)).thenNothingHappens());
  it('is restored here by a cancel of the order that used it', () => given().when(restore('u1', 'o1', usedBefore)).then([restored('u1', 'o1')]));
  it('is restored only by that order', () => given().when(restore('u1', 'o2', usedBefore)).thenNothingHappens());
  it('once restored here, the coupon is free to use again', () =>
    given(restored('u1', 'o1')).when(use('u1', 'o2', 20_000, now, 'c1:u1', usedBefore)).then([used('u1', 'o2')]));
  it('once restored here, it is not restored again', () => given(restored('u1', 'o1')).when(restore('u1', 'o1', usedBefore)).thenNothingHappens());
  it('a coupon used, restored and used again before the upgrade is used by the last order', () =>
    given()
      .when(use('u1', 'o3', 20_000, now, 'c1:u1', campaignOf(couponCreated(), issued('u1', 1), used('u1', 'o1'), restored('u1', 'o1'), used('u1', 'o2'))))
      .thenFails('COUPON_NOT_APPLICABLE'));
});

describe('checkCouponApplicable', () => {
  const own = (...events: UserCouponEvent[]): UserCouponState => fold(userCouponDecider, userCouponDecider.initialState, events);
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
    const campaign = campaignOf(couponCreated({ discount: { type: 'PERCENT', percent: 10, maxDiscount: 1500 } }), issued('u1', 1));
    expect(checkCouponApplicable(campaign, own(), 'c1:u1', 'u1', 12_345, now)).toMatchObject({ discount: 1234, userCoupon: { userId: 'u1', usedBy: null } });
    expect(checkCouponApplicable(campaign, own(), 'c1:u1', 'u1', 20_000, now).discount).toBe(1500);
  });
  it('gives the reason of a refusal', () => {
    const campaign = campaignOf(couponCreated(), issued('u1', 1, '2026-11-30T00:00:00.000Z'), issued('u2', 2), used('u2'));
    expect(reasonOf(() => checkCouponApplicable(campaign, own(), 'c1:u1', 'u9', 20_000, now))).toBe('NOT_OWNED');
    expect(reasonOf(() => checkCouponApplicable(campaign, own(), 'garbage', 'u1', 20_000, now))).toBe('NOT_OWNED');
    expect(reasonOf(() => checkCouponApplicable(campaign, own(), 'c1:u2', 'u2', 20_000, now))).toBe('USED');
    expect(reasonOf(() => checkCouponApplicable(campaign, own(used('u1', 'o5')), 'c1:u1', 'u1', 20_000, now))).toBe('USED');
    expect(reasonOf(() => checkCouponApplicable(campaign, own(), 'c1:u1', 'u1', 20_000, '2026-12-01T00:00:00.000Z'))).toBe('EXPIRED');
    expect(reasonOf(() => checkCouponApplicable(campaign, own(), 'c1:u1', 'u1', 100, now))).toBe('BELOW_MINIMUM');
  });
  it("takes the coupon's own stream over the campaign's record of its use", () => {
    const campaign = campaignOf(couponCreated(), issued('u2', 1), used('u2'));
    expect(checkCouponApplicable(campaign, own(restored('u2')), 'c1:u2', 'u2', 20_000, now).userCoupon).toMatchObject({ usedBy: null, usedAt: null });
  });
});
