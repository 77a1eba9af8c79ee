import { InMemoryReader } from '../shared/cache/in-memory';
import { Cache } from '../shared/cache/port';
import { Config } from '../shared/config';
import { SalesRanking } from '../../projections/ranking/port';
import { PayerCipher } from '../shared/crypto/payer';
import { DataKeys } from '../shared/keys/data-keys';
import { RateLimits } from '../shared/ratelimit/limits';
import { Clock, IdGenerator } from '../shared/container/tokens';
import { CommandHandler } from '../shared/command/handler';
import { DocumentStore } from '../shared/documents/port';
import { EventStore } from '../shared/eventstore/port';
import { CouponGate } from '../write/coupon/gate/port';
import type { Logger } from 'pino';
import { Queue } from '../shared/queue/port';
import { LeaseService } from '../shared/lease/port';
import { SessionPositions } from '../shared/session/port';

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
  /** The same cache's copies in this process, read without I/O. */
  readonly cacheInMemory: InMemoryReader;
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
  /** Each user's latest write, for read-your-writes on any instance (Redis with REDIS_URL, else in-process). */
  readonly sessions: SessionPositions;
  /** For work that runs after the request (projection hooks, workers) and must report failures. */
  readonly logger: Logger;
}
