/**
 * The one kind of error business rules throw. `code` is stable and public (docs/API.md lists them);
 * `kind` says what sort of refusal it is, and the HTTP layer alone turns that into a status.
 */
export type ErrorKind = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unavailable';

/** Every code a business rule may refuse with (docs/API.md): a new one is added here, on purpose. */
export const DOMAIN_ERROR_CODES = [
  'CONCURRENCY_CONFLICT',
  'COUPON_ALREADY_EXISTS',
  'COUPON_ALREADY_ISSUED',
  'COUPON_INVALID',
  'COUPON_NOT_APPLICABLE',
  'COUPON_NOT_FOUND',
  'COUPON_NOT_ISSUABLE',
  'COUPON_SOLD_OUT',
  'DELIVERY_NOT_DEAD',
  'DELIVERY_NOT_FOUND',
  'ORDER_ALREADY_EXISTS',
  'ORDER_EXPIRED',
  'ORDER_INVALID',
  'ORDER_NOT_CANCELLABLE',
  'ORDER_NOT_FOUND',
  'ORDER_NOT_PAYABLE',
  'OUT_OF_STOCK',
  'POINTS_AMOUNT_INVALID',
  'POINTS_BALANCE_LIMIT',
  'POINTS_INSUFFICIENT',
  'PRODUCT_ALREADY_EXISTS',
  'PRODUCT_NAME_INVALID',
  'PRODUCT_NOT_FOUND',
  'PRODUCT_PRICE_INVALID',
  'PROJECTION_NOT_FOUND',
  'STOCK_LIMIT',
  'STOCK_QUANTITY_INVALID',
  'STREAM_NOT_FOUND',
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
