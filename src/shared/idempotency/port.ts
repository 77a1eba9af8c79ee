/**
 * Idempotency-Key records (docs/API.md): the first response is kept and replayed; the same key with
 * another body is refused; a key whose first request is still running is refused too. A claim
 * that is never completed (its process died) expires after `inFlightMs` so the key is usable again.
 */
export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
}

export type Claim =
  | { readonly outcome: 'claimed' }
  | { readonly outcome: 'in_flight' }
  | { readonly outcome: 'mismatch' }
  | { readonly outcome: 'replay'; readonly response: StoredResponse };

export interface IdempotencyStore {
  readonly adapterName: string;
  /** `scope` is the user (keys are per user); `fingerprint` identifies the request body and route. */
  claim(scope: string, key: string, fingerprint: string, inFlightMs: number): Promise<Claim>;
  /**
   * Keeps the response for `ttlMs` (at least 24 h per docs/API.md). `fingerprint` is the one the key
   * was claimed with: the response is kept only if the record is gone (the claim expired) or is
   * still that body's running claim; another body's claim, or a response already kept, stays.
   */
  complete(scope: string, key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void>;
  /**
   * Frees the key after a failure that wrote nothing, so the client may retry with it: only the
   * running claim of the same `fingerprint` is deleted, never another body's or a kept response.
   */
  release(scope: string, key: string, fingerprint: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
