import { DomainErrorCode, ErrorKind } from '../domain/errors';

/** The codes the HTTP layer itself answers with, whatever the route (docs/API.md). */
export const HTTP_ERROR_CODES = [
  'CONSISTENCY_TIMEOUT',
  'DEV_TOKENS_LOCAL_ONLY',
  'FORBIDDEN',
  'IDEMPOTENCY_KEY_IN_USE',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_UNAVAILABLE',
  'INTERNAL',
  'MALFORMED_BODY',
  'MALFORMED_JSON',
  'MALFORMED_PATH',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'STORE_UNAVAILABLE',
  'REQUEST_TIMEOUT',
  'ROUTE_NOT_FOUND',
  'UNAUTHENTICATED',
  'UNSUPPORTED_MEDIA_TYPE',
  'VALIDATION_FAILED',
] as const;
/** Another 4xx a library answered before any route ran, by its status. */
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number] | `HTTP_${number}`;

/** Every `code` a problem+json answer can carry. */
export type ErrorCode = DomainErrorCode | HttpErrorCode;

/** An HTTP-level refusal that is not a business rule (auth, validation, idempotency...). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

export const statusOfKind: Record<ErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
};

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly [extra: string]: unknown;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(status: number, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}): ProblemBody {
  // Details come first so that none of them can overwrite a member RFC 9457 defines.
  return {
    ...extra,
    type: `https://eventmart.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: titles[status] ?? 'Error',
    status,
    detail,
    code,
  };
}
