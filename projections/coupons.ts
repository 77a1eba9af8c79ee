import { CouponCreated, CouponEvent } from '../src/write/coupon/events';
import { projection, skip } from './projection';

export const COUPONS = 'coupons';

export type CouponDoc = Omit<CouponCreated['data'], 'occurredAt'> & {
  readonly id: string;
  readonly issuedQuantity: number;
  readonly createdAt: string;
};

/** One document per coupon: its terms and how many have been issued (copied from the event, so a replay lands on the same count). */
export const couponsProjection = projection<CouponEvent>({
  name: COUPONS,
  // createdAt: the admin list, newest first.
  collections: [{ name: COUPONS, indexes: [['createdAt']] }],
  handlers: {
    CouponCreated(event, view) {
      const { occurredAt, ...terms } = event.data;
      const doc: CouponDoc = { id: terms.couponId, ...terms, issuedQuantity: 0, createdAt: occurredAt };
      view.upsert(COUPONS, doc);
    },
    async CouponIssued(event, view) {
      const doc = await view.get<CouponDoc>(COUPONS, event.data.couponId);
      if (doc) view.upsert(COUPONS, { ...doc, issuedQuantity: event.data.issuedQuantity });
    },
    CouponUsed: skip,
    CouponRestored: skip,
  },
});
