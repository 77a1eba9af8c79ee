/** docs/API.md's discount policies; amounts are whole KRW. */
export type DiscountPolicy =
  | { readonly type: 'FIXED'; readonly amount: number }
  | { readonly type: 'PERCENT'; readonly percent: number; readonly maxDiscount?: number };

/**
 * The one place the discount of an order is computed: FIXED takes `amount`, PERCENT takes
 * floor(subtotal * percent / 100) capped by `maxDiscount`, and neither ever takes more than
 * the subtotal. The percentage is split around the hundreds so that subtotal * percent never
 * leaves the safe integer range, whatever the subtotal.
 */
export function discountFor(policy: DiscountPolicy, subtotal: number): number {
  if (!Number.isSafeInteger(subtotal) || subtotal < 0) throw new RangeError(`subtotal must be a non-negative whole amount, got ${subtotal}`);
  const raw =
    policy.type === 'FIXED'
      ? policy.amount
      : Math.min(
          Math.floor(subtotal / 100) * policy.percent + Math.floor(((subtotal % 100) * policy.percent) / 100),
          policy.maxDiscount ?? Number.POSITIVE_INFINITY,
        );
  return Math.max(0, Math.min(raw, subtotal));
}
