import fc from 'fast-check';
import { DiscountPolicy, discountFor } from '../../src/write/coupon/discount';

const subtotal = fc.maxSafeInteger().map((n) => Math.abs(n));
const smallSubtotal = fc.integer({ min: 0, max: 10_000_000 });
const amount = fc.integer({ min: 1, max: 1_000_000_000 });
const fixed = amount.map((a): DiscountPolicy => ({ type: 'FIXED', amount: a }));
const percent = fc
  .record({ percent: fc.integer({ min: 1, max: 100 }), maxDiscount: fc.option(amount, { nil: undefined }) })
  .map(({ percent: p, maxDiscount }): DiscountPolicy => (maxDiscount === undefined ? { type: 'PERCENT', percent: p } : { type: 'PERCENT', percent: p, maxDiscount }));
const policy = fc.oneof(fixed, percent);

/** floor(subtotal * percent / 100) in exact arithmetic. */
const exactPercent = (s: number, p: number) => Number((BigInt(s) * BigInt(p)) / 100n);

describe('discountFor', () => {
  it('is never negative and never more than the subtotal', () =>
    fc.assert(
      fc.property(policy, fc.oneof(subtotal, smallSubtotal), (p, s) => {
        const d = discountFor(p, s);
        expect(Number.isSafeInteger(d)).toBe(true);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(s);
      }),
    ));

  it('respects the cap of a percent discount', () =>
    fc.assert(
      fc.property(percent, fc.oneof(subtotal, smallSubtotal), (p, s) => {
        if (p.type === 'PERCENT' && p.maxDiscount !== undefined) expect(discountFor(p, s)).toBeLessThanOrEqual(p.maxDiscount);
      }),
    ));

  it('takes floor(subtotal * percent / 100), capped, exactly even for huge subtotals', () =>
    fc.assert(
      fc.property(percent, fc.oneof(subtotal, smallSubtotal), (p, s) => {
        if (p.type !== 'PERCENT') return;
        expect(discountFor(p, s)).toBe(Math.min(exactPercent(s, p.percent), p.maxDiscount ?? Infinity));
      }),
    ));

  it('takes the fixed amount, or the whole subtotal when that is smaller', () =>
    fc.assert(fc.property(amount, smallSubtotal, (a, s) => expect(discountFor({ type: 'FIXED', amount: a }, s)).toBe(Math.min(a, s)))));

  it.each<[DiscountPolicy, number, number]>([
    [{ type: 'FIXED', amount: 3000 }, 10_000, 3000],
    [{ type: 'FIXED', amount: 3000 }, 2000, 2000],
    [{ type: 'PERCENT', percent: 15 }, 9999, 1499],
    [{ type: 'PERCENT', percent: 100 }, 4321, 4321],
    [{ type: 'PERCENT', percent: 10, maxDiscount: 500 }, 9999, 500],
    [{ type: 'PERCENT', percent: 1 }, 99, 0],
    [{ type: 'FIXED', amount: 1 }, 0, 0],
  ])('%j on %d takes %d', (p, s, expected) => expect(discountFor(p, s)).toBe(expected));

  it.each([-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses the subtotal %p', (s) =>
    expect(() => discountFor({ type: 'FIXED', amount: 1 }, s)).toThrow(RangeError));
});
