import { Agent as HttpAgent, ClientRequest, IncomingMessage, request as httpRequest, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

/**
 * Sockets kept per client. Each delivery worker holds one request at a time and there are 2 by
 * default, so 16 leaves room for a larger DELIVERY_WORKERS while still bounding the connections
 * one process opens on the platform. Past 16 concurrent sends, requests wait in the agent, and
 * that wait counts towards their timeout.
 */
const MAX_SOCKETS = 16;

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
 *
 * It speaks node:http(s) over one keep-alive agent rather than fetch: for one small JSON POST per
 * order, fetch's web streams and AbortSignal cost about a tenth of the server's CPU.
 */
export class DataPlatformClient {
  private readonly breaker: CircuitBreakerPolicy;
  private readonly endpoint: URL;
  private readonly agent: HttpAgent;
  private readonly request: (url: URL, options: RequestOptions) => ClientRequest;
  private reopensAt = 0;

  constructor(
    url: string,
    private readonly options: DataPlatformClientOptions,
    logger: Logger,
  ) {
    this.endpoint = new URL(`${url.replace(/\/+$/, '')}/orders`);
    const https = this.endpoint.protocol === 'https:';
    this.agent = new (https ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: MAX_SOCKETS });
    this.request = https ? httpsRequest : httpRequest;
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

  /** Drops the kept-alive connections; a send after this opens new ones. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * Settles once the whole answer is in: its body is drained so the socket goes back to the
   * agent. The timer bounds the attempt from the moment it is made (a wait for a free socket,
   * the connect, the answer), as a single deadline rather than the socket's idle timeout, which a
   * platform trickling bytes would keep resetting.
   */
  private post(idempotencyKey: string, payload: OrderPayload): Promise<void> {
    const body = JSON.stringify(payload);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (failure?: DeliveryFailed) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failure) reject(failure);
        else resolve();
      };
      const unreachable = (error: Error & { code?: string }) =>
        settle(new DeliveryFailed(`could not reach the data platform (${error.code ?? error.message})`, true));

      const req = this.request(this.endpoint, {
        method: 'POST',
        agent: this.agent,
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, 'content-length': Buffer.byteLength(body) },
      });
      const timer = setTimeout(() => {
        settle(new DeliveryFailed(`no answer within ${this.options.timeoutMs} ms`, true));
        // Its socket is closed, not reused: the platform may still answer on it.
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', unreachable);
      req.on('response', (res: IncomingMessage) => {
        res.on('error', unreachable);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return settle();
          const down = status >= 500 || status === 429 || status === 408;
          settle(new DeliveryFailed(`the data platform answered ${status}`, down));
        });
        res.resume();
      });
      req.end(body);
    });
  }

  private lastFailure(): string | undefined {
    const failure = this.breaker.lastFailure;
    return failure && 'error' in failure ? failure.error.message : undefined;
  }
}
