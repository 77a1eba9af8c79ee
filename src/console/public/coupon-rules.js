/**
 * The API's rules for a new coupon, checked before anything is sent. The bounds come from the
 * API's own OpenAPI description (POST /admin/coupons); the rules between fields are the
 * decider's (src/write/coupon/decider.ts, termProblems), with its wording. The API checks
 * them again, and its answer is shown if it still refuses.
 */

const whole = (value, property = {}) =>
  Number.isInteger(value) && (property.minimum === undefined || value >= property.minimum) && (property.maximum === undefined || value <= property.maximum);

const bounds = (property = {}) => `${property.minimum ?? '…'}..${property.maximum ?? '…'}`;

/** The body's schema with the discount's two variants found by their `type`. */
export function couponSchemaParts(body, resolve) {
  const properties = body.properties ?? {};
  const discount = resolve(properties.discount) ?? {};
  const variants = (discount.oneOf ?? discount.anyOf ?? []).map(resolve);
  const variant = (type) => variants.find((v) => v.properties?.type?.const === type || v.properties?.type?.enum?.includes(type))?.properties ?? {};
  return { properties, fixed: variant('FIXED'), percent: variant('PERCENT') };
}

/** Problems with `terms` (the body about to be sent), as the API would list them; empty when it may be sent. */
export function couponProblems(terms, now, { properties, fixed, percent }) {
  const problems = [];
  const name = (terms.name ?? '').trim();
  const nameRule = properties.name ?? {};
  if (name.length < (nameRule.minLength ?? 1) || (nameRule.maxLength !== undefined && name.length > nameRule.maxLength)) {
    problems.push(`name must be 1..${nameRule.maxLength ?? '…'} characters`);
  }
  const { discount } = terms;
  if (discount.type === 'FIXED' && !whole(discount.amount, fixed.amount)) problems.push(`discount.amount must be a whole amount ${bounds(fixed.amount)}`);
  if (discount.type === 'PERCENT') {
    if (!whole(discount.percent, percent.percent)) problems.push(`discount.percent must be a whole number ${bounds(percent.percent)}`);
    if (discount.maxDiscount !== undefined && !whole(discount.maxDiscount, percent.maxDiscount)) problems.push('discount.maxDiscount must be a positive whole amount');
  }
  if (terms.minOrderAmount !== undefined && !whole(terms.minOrderAmount, properties.minOrderAmount)) problems.push('minOrderAmount must be a non-negative whole amount');
  if (!whole(terms.totalQuantity, properties.totalQuantity)) problems.push(`totalQuantity must be ${bounds(properties.totalQuantity)}`);
  if (terms.validDays !== undefined && !whole(terms.validDays, properties.validDays)) problems.push(`validDays must be ${bounds(properties.validDays)}`);
  if (terms.validUntil !== undefined && terms.validDays !== undefined) problems.push('give validUntil or validDays, not both');
  const at = (iso) => (iso === undefined ? undefined : Date.parse(iso));
  const [starts, ends, until] = [at(terms.issueStartsAt), at(terms.issueEndsAt), at(terms.validUntil)];
  if ([starts, ends, until].some((value) => Number.isNaN(value))) return [...problems, 'dates must be full dates and times'];
  if (starts !== undefined && ends !== undefined && !(ends > starts)) problems.push('issueEndsAt must be after issueStartsAt');
  if (ends !== undefined && !(ends > now)) problems.push('issueEndsAt must be in the future');
  if (until !== undefined && !(until > now && (starts === undefined || until > starts))) problems.push('validUntil must be in the future and after issueStartsAt');
  return problems;
}
