import { Cache } from '../cache/port';
import { Config } from '../config';
import { SalesRanking } from '../ranking/port';
import { PayerCipher } from '../crypto/payer';
import { DataKeys } from '../keys/data-keys';
import { RateLimits } from '../ratelimit/limits';
import { Clock, IdGenerator } from '../container/tokens';
import { CommandHandler } from '../command/handler';
import { DocumentStore } from '../documents/port';
import { EventStore } from '../eventstore/port';
import { CouponGate } from '../gate/port';
import type { Logger } from 'pino';
import { Queue } from '../queue/port';
import { LeaseService } from '../lease/port';

/** What route modules need; resolved once from the container by the composition root. */
export interface AppServices {
  readonly config: Config;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly commands: CommandHandler;
  readonly events: EventStore;
  readonly documents: DocumentStore;
  /** Read-side cache, invalidated by projections after they commit. */
  readonly cache: Cache;
  /** Top products by quantity sold per day window (Redis sorted sets, or the read model itself). */
  readonly ranking: SalesRanking;
  readonly payers: PayerCipher;
  /** Per-user data keys under the master key: rotation and crypto-shredding. */
  readonly dataKeys: DataKeys;
  /** Abuse limits per user and per IP, applied by the route runner. */
  readonly rateLimits: RateLimits;
  /** Turns away coupon requests that would be refused before they reach the event store. */
  readonly couponGate: CouponGate;
  /** Jobs for the data-platform delivery workers, one per outbox delivery id. */
  readonly deliveryQueue: Queue;
  /** Which process runs each projection (Redis with REDIS_URL, else in-process). */
  readonly leases: LeaseService;
  /** For work that runs after the request (projection hooks, workers) and must report failures. */
  readonly logger: Logger;
}
