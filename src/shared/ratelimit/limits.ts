import type { Logger } from 'pino';
import { Config } from '../config';
import { RateLimiter } from './port';

/** What a route is limited as: state-changing requests, coupon issuance, token issuance. */
export type LimitKind = 'write' | 'issue' | 'token';
export type LimitScope = 'user' | 'ip';

export interface Refusal {
  readonly kind: LimitKind;
  readonly scope: LimitScope;
  readonly limit: number;
  readonly windowMs: number;
  readonly retryAfterSeconds: number;
}

/**
 * The abuse-limit policy: how many requests of each kind one user, and one client IP, may send
 * per window (config RATE_LIMIT_*; 0 switches a limit off). Limits protect capacity, never
 * correctness, so when the counter store fails the request goes through (logged).
 */
export class RateLimits {
  private readonly limits: Readonly<Record<LimitKind, Readonly<Record<LimitScope, number>>>>;

  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: Pick<
      Config,
      | 'RATE_LIMIT_WINDOW_MS'
      | 'RATE_LIMIT_WRITE_PER_USER'
      | 'RATE_LIMIT_WRITE_PER_IP'
      | 'RATE_LIMIT_ISSUE_PER_USER'
      | 'RATE_LIMIT_ISSUE_PER_IP'
      | 'RATE_LIMIT_TOKEN_PER_IP'
    >,
    private readonly logger: Logger,
  ) {
    this.limits = {
      write: { user: config.RATE_LIMIT_WRITE_PER_USER, ip: config.RATE_LIMIT_WRITE_PER_IP },
      issue: { user: config.RATE_LIMIT_ISSUE_PER_USER, ip: config.RATE_LIMIT_ISSUE_PER_IP },
      // Tokens are asked for before there is a user: only the IP counts.
      token: { user: 0, ip: config.RATE_LIMIT_TOKEN_PER_IP },
    };
  }

  get adapterName(): string {
    return this.limiter.adapterName;
  }

  /** Counts the request; a refusal when it is over the limit, null otherwise. */
  async check(kind: LimitKind, scope: LimitScope, subject: string): Promise<Refusal | null> {
    const limit = this.limits[kind][scope];
    if (limit === 0) return null;
    const windowMs = this.config.RATE_LIMIT_WINDOW_MS;
    try {
      const { count, resetInMs } = await this.limiter.hit(`${kind}:${scope}:${subject}`, windowMs);
      if (count <= limit) return null;
      return { kind, scope, limit, windowMs, retryAfterSeconds: Math.max(1, Math.ceil(resetInMs / 1000)) };
    } catch (error) {
      this.logger.warn({ err: error, kind, scope }, 'rate limit counter unavailable; request let through');
      return null;
    }
  }

  close(): Promise<void> {
    return this.limiter.close();
  }
}
