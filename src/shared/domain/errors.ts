/**
 * The one kind of error business rules throw. `code` is stable and public (API.md lists them);
 * `kind` says what sort of refusal it is, and the HTTP layer alone turns that into a status.
 */
export type ErrorKind = 'invalid' | 'not_found' | 'conflict' | 'forbidden' | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
