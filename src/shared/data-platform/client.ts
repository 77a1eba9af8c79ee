import { circuitBreaker, CircuitBreakerPolicy, ConsecutiveBreaker, handleWhen } from 'cockatiel';
import type { Logger } from 'pino';
import { OrderPayload } from './payload';

/** One attempt that did not end in a 2xx. */
export class DeliveryFailed extends Error {
  constructor(
    message: string,
    /** The platform is down or overloaded (no answer, 5xx, 429): counts towards opening the breaker. */
    readonly platformDown: boolean,
  ) {
    super(message);
    this.name = 'DeliveryFailed';
  }
}

export interface DataPlatformClientOptions {
  readonly timeoutMs: number;
  /** Consecutive "platform down" failures that open the breaker. */
  readonly breakerFailures: number;
  /** How long an open breaker refuses before letting one trial request through. */
  readonly halfOpenAfterMs: number;
}

/**
 * POSTs orders to the data platform, one bounded attempt per call, behind a circuit breaker
 * shared by every worker of this process: once the platform has failed `breakerFailures` times
 * in a row, calls fail at once (cockatiel's BrokenCircuitError, no request made) until a trial
 * request after `halfOpenAfterMs` succeeds. A 4xx says the platform is up, so it never trips it.
 */
export class DataPlatformClient {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly endpoint: string;
  private reopensAt = 0;

  constructor(
    url: string,
    private readonly options: DataPlatformClientOptions,
    logger: Logger,
  ) {
    this.endpoint = `${url.replace(/\/+$/, '')}/orders`;
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof DeliveryFailed && error.platformDown),
      { halfOpenAfter: options.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.breakerFailures) },
    );
    this.breaker.onBreak(() => {
      this.reopensAt = Date.now() + options.halfOpenAfterMs;
      logger.warn({ retryInMs: options.halfOpenAfterMs, lastError: this.lastFailure() }, 'data platform unreachable: deliveries paused');
    });
    this.breaker.onReset(() => logger.info('data platform answers again: deliveries resume'));
  }

  /** How long the open breaker will still refuse; 0 when a call would be tried. */
  pausedFor(): number {
    return Math.max(0, this.reopensAt - Date.now());
  }

  /** Resolves on a 2xx answer; throws DeliveryFailed, or BrokenCircuitError while the breaker is open. */
  async send(idempotencyKey: string, payload: OrderPayload): Promise<void> {
    await this.breaker.execute(() => this.post(idempotencyKey, payload));
  }

  private async post(idempotencyKey: string, payload: OrderPayload): Promise<void> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new DeliveryFailed(this.describe(error), true);
    }
    // The answer's body says nothing we act on; reading it frees the connection for reuse.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    const down = response.status >= 500 || response.status === 429 || response.status === 408;
    throw new DeliveryFailed(`the data platform answered ${response.status}`, down);
  }

  private lastFailure(): string | undefined {
    const failure = this.breaker.lastFailure;
    return failure && 'error' in failure ? failure.error.message : undefined;
  }

  /** fetch's errors come from Node's own realm (a DOMException on timeout): read them by shape, not instanceof. */
  private describe(error: unknown): string {
    const { name, message, cause } = (error ?? {}) as { name?: string; message?: string; cause?: { code?: string } };
    if (name === 'TimeoutError') return `no answer within ${this.options.timeoutMs} ms`;
    return `could not reach the data platform (${cause?.code ?? message ?? String(error)})`;
  }
}
