import { DiscountPolicy } from '../src/write/coupon/discount';
import { CouponEvent } from '../src/write/coupon/events';
import { projection } from './projection';

export const USER_COUPONS = 'user_coupons';
/** The coupon terms a user coupon shows, kept by this projection itself so it never depends on another one's progress. */
const USER_COUPON_TERMS = 'user_coupon_terms';

/** Stands in for "never expires" in `expiresAt`, so one range query tells valid from expired. */
export const NEVER_EXPIRES = '9999-12-31T23:59:59.999Z';

type TermsDoc = {
  readonly id: string;
  readonly name: string;
  readonly discount: DiscountPolicy;
  readonly minOrderAmount: number;
};

export type UserCouponDoc = {
  readonly id: string;
  readonly userCouponId: string;
  readonly couponId: string;
  readonly userId: string;
  readonly name: string;
  readonly discount: DiscountPolicy;
  readonly minOrderAmount: number;
  readonly validUntil: string | null;
  readonly expiresAt: string;
  readonly used: boolean;
  readonly usedAt?: string;
  readonly orderId?: string;
  readonly issuedAt: string;
  /** Log position of the issue: newest first, exactly. */
  readonly position: string;
};

/** A user's coupons, one document per user coupon; validity is left to the reader's clock. */
export const userCouponsProjection = projection<CouponEvent>({
  name: USER_COUPONS,
  collections: [
    { name: USER_COUPONS, indexes: [['userId', 'position'], ['userId', 'used', 'expiresAt']] },
    { name: USER_COUPON_TERMS, indexes: [] },
  ],
  handlers: {
    CouponCreated(event, view) {
      const { couponId, name, discount, minOrderAmount } = event.data;
      const terms: TermsDoc = { id: couponId, name, discount, minOrderAmount };
      view.upsert(USER_COUPON_TERMS, terms);
    },
    async CouponIssued(event, view) {
      const { couponId, userCouponId, userId, validUntil, occurredAt } = event.data;
      const { name, discount, minOrderAmount } = (await view.get<TermsDoc>(USER_COUPON_TERMS, couponId))!;
      const doc: UserCouponDoc = {
        id: userCouponId,
        userCouponId,
        couponId,
        userId,
        name,
        discount,
        minOrderAmount,
        validUntil,
        expiresAt: validUntil ?? NEVER_EXPIRES,
        used: false,
        issuedAt: occurredAt,
        position: event.position,
      };
      view.upsert(USER_COUPONS, doc);
    },
    async CouponUsed(event, view) {
      const doc = (await view.get<UserCouponDoc>(USER_COUPONS, event.data.userCouponId))!;
      view.upsert(USER_COUPONS, { ...doc, used: true, usedAt: event.data.occurredAt, orderId: event.data.orderId });
    },
    async CouponRestored(event, view) {
      const { usedAt: _usedAt, orderId: _orderId, ...doc } = (await view.get<UserCouponDoc>(USER_COUPONS, event.data.userCouponId))!;
      view.upsert(USER_COUPONS, { ...doc, used: false });
    },
  },
});
