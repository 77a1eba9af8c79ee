/**
 * The rules of a new coupon's terms, in one place for the decider and for the operator's
 * console, which runs this very code in the browser: src/console/public/coupon-term-rules.js is
 * this file with its types stripped (`npm run console:rules`; test/unit/console-rules.test.ts
 * fails when it is stale). So it imports nothing at run time and uses only what a browser has.
 */
import type { CouponTerms } from './commands';
import type { DiscountPolicy } from './discount';

/** Bounds the HTTP schemas and the decider share. */
export const COUPON_LIMITS = {
  maxNameLength: 100,
  maxQuantity: 1_000_000,
  /** For fixed discounts, caps and minimum order amounts, in KRW. */
  maxAmount: 1_000_000_000,
  maxValidDays: 3650,
} as const;

/** A create-coupon request body: its options are absent where the terms say null. */
export interface CouponTermsInput {
  readonly name: string;
  readonly discount: DiscountPolicy;
  readonly minOrderAmount?: number;
  readonly totalQuantity: number;
  readonly issueStartsAt?: string;
  readonly issueEndsAt?: string;
  readonly validUntil?: string;
  readonly validDays?: number;
}

export function couponTermsOf(input: CouponTermsInput): CouponTerms {
  return {
    name: input.name,
    discount: input.discount,
    minOrderAmount: input.minOrderAmount ?? 0,
    totalQuantity: input.totalQuantity,
    issueStartsAt: input.issueStartsAt ?? null,
    issueEndsAt: input.issueEndsAt ?? null,
    validUntil: input.validUntil ?? null,
    validDays: input.validDays ?? null,
  };
}

const isWhole = (n: number, min: number, max: number) => Number.isSafeInteger(n) && n >= min && n <= max;

/** Every broken rule of the terms at `now` (an ISO instant), so one answer lists them all. */
export function couponTermProblems(terms: CouponTerms, now: string): string[] {
  const problems: string[] = [];
  const after = (a: string, b: string) => Date.parse(a) > Date.parse(b);
  const name = terms.name.trim();
  if (name.length === 0 || name.length > COUPON_LIMITS.maxNameLength) problems.push(`name must be 1..${COUPON_LIMITS.maxNameLength} characters`);
  const { discount } = terms;
  if (discount.type === 'FIXED' && !isWhole(discount.amount, 1, COUPON_LIMITS.maxAmount)) problems.push('discount.amount must be a positive whole amount');
  if (discount.type === 'PERCENT') {
    if (!isWhole(discount.percent, 1, 100)) problems.push('discount.percent must be a whole number 1..100');
    if (discount.maxDiscount !== undefined && !isWhole(discount.maxDiscount, 1, COUPON_LIMITS.maxAmount)) {
      problems.push('discount.maxDiscount must be a positive whole amount');
    }
  }
  if (!isWhole(terms.minOrderAmount, 0, COUPON_LIMITS.maxAmount)) problems.push('minOrderAmount must be a non-negative whole amount');
  if (!isWhole(terms.totalQuantity, 1, COUPON_LIMITS.maxQuantity)) problems.push(`totalQuantity must be 1..${COUPON_LIMITS.maxQuantity}`);
  if (terms.validDays !== null && !isWhole(terms.validDays, 1, COUPON_LIMITS.maxValidDays)) problems.push(`validDays must be 1..${COUPON_LIMITS.maxValidDays}`);
  if (terms.validUntil !== null && terms.validDays !== null) problems.push('give validUntil or validDays, not both');
  const instants = { issueStartsAt: terms.issueStartsAt, issueEndsAt: terms.issueEndsAt, validUntil: terms.validUntil };
  const unreadable = Object.entries(instants).filter(([, value]) => value !== null && Number.isNaN(Date.parse(value)));
  // Comparing unreadable instants would only add noise to the answer.
  if (unreadable.length > 0) return [...problems, ...unreadable.map(([field]) => `${field} must be an ISO-8601 instant`)];
  if (terms.issueStartsAt !== null && terms.issueEndsAt !== null && !after(terms.issueEndsAt, terms.issueStartsAt)) {
    problems.push('issueEndsAt must be after issueStartsAt');
  }
  if (terms.issueEndsAt !== null && !after(terms.issueEndsAt, now)) problems.push('issueEndsAt must be in the future');
  const { validUntil } = terms;
  if (validUntil !== null && !(after(validUntil, now) && (terms.issueStartsAt === null || after(validUntil, terms.issueStartsAt)))) {
    problems.push('validUntil must be in the future and after issueStartsAt');
  }
  return problems;
}
