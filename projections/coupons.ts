import { unreachable } from '../src/shared/domain/decider';
import { CouponCreated, CouponIssued } from '../src/write/coupon/events';
import { Projection } from './projection';

export const COUPONS = 'coupons';

export type CouponDoc = Omit<CouponCreated['data'], 'occurredAt'> & {
  readonly id: string;
  readonly issuedQuantity: number;
  readonly createdAt: string;
};

type Handled = CouponCreated | CouponIssued;

/** One document per coupon: its terms and how many have been issued (copied from the event, so a replay lands on the same count). */
export const couponsProjection: Projection = {
  name: COUPONS,
  // createdAt: the admin list, newest first.
  collections: [{ name: COUPONS, indexes: [['createdAt']] }],
  eventTypes: new Set<Handled['type']>(['CouponCreated', 'CouponIssued']),
  async apply(stored, view) {
    const event = stored as unknown as Handled;
    switch (event.type) {
      case 'CouponCreated': {
        const { occurredAt, ...terms } = event.data;
        const doc: CouponDoc = { id: terms.couponId, ...terms, issuedQuantity: 0, createdAt: occurredAt };
        view.upsert(COUPONS, doc);
        return;
      }
      case 'CouponIssued': {
        const doc = await view.get<CouponDoc>(COUPONS, event.data.couponId);
        if (doc) view.upsert(COUPONS, { ...doc, issuedQuantity: event.data.issuedQuantity });
        return;
      }
      default:
        return unreachable(event);
    }
  },
};
