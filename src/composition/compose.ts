import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from 'inversify';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import { createLogger } from '../shared/logging';
import type { AppServices } from './services';
import { InProcessCache } from '../shared/cache/memory';
import { InMemoryReader } from '../shared/cache/in-memory';
import { Cache } from '../shared/cache/port';
import { RedisCache } from '../shared/cache/redis';
import { Config } from '../shared/config';
import { DocumentSalesRanking } from '../../projections/ranking/documents';
import { RedisSalesRanking } from '../../projections/ranking/redis';
import { MasterKeyRing } from '../shared/crypto/master-keys';
import { PayerCipher } from '../shared/crypto/payer';
import { DataKeys } from '../shared/keys/data-keys';
import { MongoDataKeyStore } from '../shared/keys/mongo';
import { DataKeyStore } from '../shared/keys/port';
import { SqliteDataKeyStore } from '../shared/keys/sqlite';
import { RateLimits } from '../shared/ratelimit/limits';
import { InProcessRateLimiter } from '../shared/ratelimit/memory';
import { RedisRateLimiter } from '../shared/ratelimit/redis';
import { CommandHandler } from '../shared/command/handler';
import { DocumentStore } from '../shared/documents/port';
import { EventStore } from '../shared/eventstore/port';
import { IdempotencyStore } from '../shared/idempotency/port';
import { LockService } from '../shared/lock/port';
import { KurrentDbEventStore } from '../shared/eventstore/kurrentdb';
import { SqliteEventStore } from '../shared/eventstore/sqlite';
import { PostgresEventStore } from '../shared/eventstore/postgres';
import { PostgresDocumentStore } from '../shared/documents/postgres';
import { PostgresDataKeyStore } from '../shared/keys/postgres';
import { Postgres } from '../shared/postgres';
import { MongoDocumentStore } from '../shared/documents/mongo';
import { SqliteDocumentStore } from '../shared/documents/sqlite';
import { InProcessLockService } from '../shared/lock/memory';
import { RedisLockService } from '../shared/lock/redis';
import { RedisIdempotencyStore } from '../shared/idempotency/redis';
import { SqliteIdempotencyStore } from '../shared/idempotency/sqlite';
import { PostgresIdempotencyStore } from '../shared/idempotency/postgres';
import { InProcessCouponGate } from '../write/coupon/gate/memory';
import { CouponGate } from '../write/coupon/gate/port';
import { RedisCouponGate } from '../write/coupon/gate/redis';
import { Queue } from '../shared/queue/port';
import { LeaseService } from '../shared/lease/port';
import { InProcessLeaseService } from '../shared/lease/memory';
import { RedisLeaseService } from '../shared/lease/redis';
import { SessionPositions } from '../shared/session/port';
import { InProcessSessionPositions } from '../shared/session/memory';
import { RedisSessionPositions } from '../shared/session/redis';
import { RedisQueue } from '../shared/queue/redis';
import { SqliteQueue } from '../shared/queue/sqlite';
import { SqliteSnapshotStore } from '../shared/snapshots/sqlite';
import { AggregateSnapshots } from '../shared/snapshots/snapshots';
import { Clock, IdGenerator, TOKENS } from '../shared/container/tokens';

/** Adapters a caller (a test) may supply instead of the configured ones. */
export interface Overrides {
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly logger?: Logger;
  readonly events?: EventStore;
  readonly documents?: DocumentStore;
}

export interface Composed {
  readonly container: Container;
  /** Which adapter serves each port, said at start-up. */
  readonly adapters: Readonly<Record<string, string>>;
  readonly readiness: ReadonlyArray<{ readonly name: string; readonly check: () => Promise<void> }>;
  readonly jwtSecret: string;
  readonly logger: Logger;
  readonly services: AppServices;
  close(): Promise<void>;
}

export const systemClock: Clock = { now: () => new Date() };
export const randomIds: IdGenerator = { newId: () => randomUUID() };

/**
 * The composition root: the one place that reads the configuration to choose adapters. A URL
 * switches a port to its server; with none set everything is embedded under DATA_DIR.
 * DATABASE_URL puts the log, the read models and the data keys on PostgreSQL, where
 * EVENTSTORE_URL and MONGODB_URL do not claim them, and the idempotency keys too (neither of those
 * serves them): a retry lands on any instance, and a key must outlive Redis's memory policy and
 * a REDIS_PREFIX that differs between instances. The ports that coordinate instances stay on
 * Redis (config.ts requires REDIS_URL beside DATABASE_URL).
 */
export async function compose(config: Config, overrides: Overrides = {}): Promise<Composed> {
  // Redaction is the application's rule, so it also covers a logger a caller supplies.
  const logger = (overrides.logger ?? createLogger(config)).child(
    {},
    { redact: ['req.headers.authorization', 'req.headers.cookie', '*.payer', 'payer', '*.token', 'token'] },
  );
  const file = (name: string) => join(config.DATA_DIR, name);
  const sqlite = { synchronous: config.SQLITE_SYNCHRONOUS };

  // One PostgreSQL pool per process, shared by the log, the read models, the data keys and the idempotency keys;
  // first, so that an unreachable server stops start-up before anything else is open.
  const pg = config.DATABASE_URL ? await connectPostgres(config, logger) : null;
  const redis = config.REDIS_URL
    ? new Redis(config.REDIS_URL, {
        maxRetriesPerRequest: 2,
        enableOfflineQueue: false,
        lazyConnect: false,
        // Commands issued in the same tick (many requests in flight) leave in one write: under
        // load, socket writes (HTTP and Redis) were a sixth of the server's time in a profile.
        enableAutoPipelining: true,
      })
    : undefined;
  redis?.on('error', (error) => logger.warn({ err: error }, 'redis connection problem'));
  if (redis) await connected(redis, logger);

  const events = overrides.events ?? (await eventStore(config, pg, file('events.db'), sqlite));
  // One MongoDB connection pool per process, shared by the read models and the data keys.
  const mongo = config.MONGODB_URL ? await MongoClient.connect(config.MONGODB_URL) : null;
  const documents =
    overrides.documents ??
    (mongo ? MongoDocumentStore.over(mongo) : pg ? await PostgresDocumentStore.open(pg) : new SqliteDocumentStore(file('readmodels.db'), sqlite));
  const locks: LockService = redis ? new RedisLockService(redis, `${config.REDIS_PREFIX}lock:`) : new InProcessLockService();
  const idempotency: IdempotencyStore = pg
    ? await PostgresIdempotencyStore.open(pg)
    : redis
      ? new RedisIdempotencyStore(redis, `${config.REDIS_PREFIX}idem:`)
      : new SqliteIdempotencyStore(file('operations.db'), sqlite);
  const cache: Cache & InMemoryReader = redis
    ? new RedisCache(redis, `${config.REDIS_PREFIX}cache:`, (error) =>
        logger.warn({ err: error }, 'cache invalidation failed; the entries last until their TTL'),
      )
    : new InProcessCache();
  const couponGate: CouponGate = redis ? new RedisCouponGate(redis, `${config.REDIS_PREFIX}gate:`) : new InProcessCouponGate();
  const leases: LeaseService = redis ? new RedisLeaseService(redis, `${config.REDIS_PREFIX}lease:`) : new InProcessLeaseService();
  const sessions: SessionPositions = redis
    ? new RedisSessionPositions(redis, `${config.REDIS_PREFIX}session:`, config.SESSION_POSITION_TTL_MS)
    : new InProcessSessionPositions(config.SESSION_POSITION_TTL_MS);
  // Every instance must open what another sealed, so data keys follow the documents to MongoDB;
  // never to Redis, which holds only what can be rebuilt (a lost key is lost data).
  const dataKeyStore: DataKeyStore = mongo
    ? MongoDataKeyStore.over(mongo)
    : pg
      ? await PostgresDataKeyStore.open(pg)
      : new SqliteDataKeyStore(file('keys.db'), sqlite);
  const masterKeys = new MasterKeyRing(
    Buffer.from(config.PAYER_KEY ?? embeddedSecret(config.DATA_DIR, 'payer-key', 'PAYER_KEY', logger), 'base64'),
    config.PAYER_KEY_PREVIOUS.map((key) => Buffer.from(key, 'base64')),
  );
  const dataKeys = new DataKeys(dataKeyStore, masterKeys);
  const rateLimits = new RateLimits(redis ? new RedisRateLimiter(redis, `${config.REDIS_PREFIX}rl:`) : new InProcessRateLimiter(), config, logger);
  const deliveryQueue: Queue = redis
    ? new RedisQueue(redis, `${config.REDIS_PREFIX}queue:data-platform`, { leaseMs: config.QUEUE_LEASE_MS })
    : new SqliteQueue(file('queue.db'), 'data-platform', { ...sqlite, leaseMs: config.QUEUE_LEASE_MS });

  // A cache of folded states, checked against the log on every use: local to this instance
  // whichever event store serves the log.
  const snapshots =
    config.SNAPSHOT_EVERY > 0
      ? new AggregateSnapshots(new SqliteSnapshotStore(file('snapshots.db')), config.SNAPSHOT_EVERY, (error, stream) =>
          logger.warn({ err: error, stream }, 'aggregate snapshot not usable or not written; the stream is folded from the log'),
        )
      : undefined;

  const container = new Container();
  container.bind(TOKENS.Config).toConstantValue(config);
  container.bind(TOKENS.Logger).toConstantValue(logger);
  container.bind(TOKENS.Clock).toConstantValue(overrides.clock ?? systemClock);
  container.bind(TOKENS.Ids).toConstantValue(overrides.ids ?? randomIds);
  container.bind(TOKENS.EventStore).toConstantValue(events);
  container.bind(TOKENS.Documents).toConstantValue(documents);
  container.bind(TOKENS.Locks).toConstantValue(locks);
  container.bind(TOKENS.Idempotency).toConstantValue(idempotency);
  if (snapshots) container.bind(TOKENS.Snapshots).toConstantValue(snapshots);
  container.bind(CommandHandler).toSelf().inSingletonScope();

  const services: AppServices = {
    config,
    clock: container.get(TOKENS.Clock),
    ids: container.get(TOKENS.Ids),
    commands: container.get(CommandHandler),
    events,
    documents,
    cache,
    cacheInMemory: cache,
    ranking: redis ? new RedisSalesRanking(redis, `${config.REDIS_PREFIX}sales:`) : new DocumentSalesRanking(documents),
    payers: new PayerCipher(dataKeys),
    dataKeys,
    rateLimits,
    couponGate,
    deliveryQueue,
    leases,
    sessions,
    logger,
  };

  const readiness = [
    { name: 'eventStore', check: () => events.ping() },
    { name: 'documents', check: () => documents.ping() },
    { name: 'idempotency', check: () => idempotency.ping() },
    { name: 'dataKeys', check: () => dataKeyStore.ping() },
    ...(redis ? [{ name: 'redis', check: async () => void (await redis.ping()) }] : []),
    ...(pg ? [{ name: 'postgres', check: () => pg.ping() }] : []),
  ];

  return {
    container,
    adapters: {
      eventStore: events.adapterName,
      documents: documents.adapterName,
      locks: locks.adapterName,
      idempotency: idempotency.adapterName,
      cache: cache.adapterName,
      ranking: services.ranking.adapterName,
      couponGate: couponGate.adapterName,
      deliveryQueue: deliveryQueue.adapterName,
      dataKeys: dataKeyStore.adapterName,
      rateLimits: rateLimits.adapterName,
      leases: leases.adapterName,
      sessions: sessions.adapterName,
      snapshots: snapshots?.adapterName ?? 'off',
    },
    readiness,
    jwtSecret: config.JWT_SECRET ?? embeddedSecret(config.DATA_DIR, 'jwt-secret', 'JWT_SECRET', logger),
    logger,
    services,
    async close() {
      await Promise.allSettled([events.close(), documents.close(), locks.close(), idempotency.close(), cache.close(), couponGate.close(), deliveryQueue.close(), dataKeyStore.close(), rateLimits.close(), snapshots?.close()]);
      await mongo?.close();
      await pg?.close();
      redis?.disconnect();
    },
  };
}

/**
 * Commands are not queued while Redis is disconnected (a request should fall back, not wait),
 * so give the first connection a moment before workers and requests start using it. If Redis
 * is down we start anyway: every Redis-backed adapter degrades to slower, still correct, work.
 */
async function connected(redis: Redis, logger: Logger, timeoutMs = 3000): Promise<void> {
  if (redis.status === 'ready') return;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) logger.warn({ timeoutMs }, 'redis is not reachable yet; starting degraded until it is');
}

async function eventStore(config: Config, pg: Postgres | null, file: string, options: { synchronous: 'FULL' | 'NORMAL' }): Promise<EventStore> {
  if (config.EVENTSTORE_URL) return new KurrentDbEventStore(config.EVENTSTORE_URL);
  if (pg) return PostgresEventStore.open(pg);
  return new SqliteEventStore(file, options);
}

/** The pool, once the server has answered: an unreachable one stops start-up naming DATABASE_URL. */
async function connectPostgres(config: Config, logger: Logger): Promise<Postgres> {
  const pg = new Postgres({
    url: config.DATABASE_URL!,
    schema: config.DATABASE_SCHEMA,
    poolSize: config.DATABASE_POOL_SIZE,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    onError: (error) => logger.warn({ err: error }, 'postgres connection problem'),
  });
  try {
    await pg.ping();
  } catch (error) {
    await pg.close().catch(() => undefined);
    throw new Error(`DATABASE_URL: PostgreSQL does not answer (${error instanceof Error ? error.message : String(error)})`);
  }
  return pg;
}

/**
 * Zero set-up needs keys nobody configured: make one on first start and keep it beside the
 * data, readable by the owner only, so tokens and sealed data survive restarts. Fine for one
 * embedded process; anything shared must configure its keys.
 */
function embeddedSecret(dataDir: string, file: string, variable: string, logger: Logger): string {
  const path = join(dataDir, file);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    logger.warn({ path }, `no ${variable} set: generated a key for this embedded data directory (configure ${variable} anywhere shared)`);
  }
  return readFileSync(path, 'utf8').trim();
}
