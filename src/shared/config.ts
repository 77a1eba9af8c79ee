import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { DEFAULT_MAX_TOKEN_AGE_HOURS } from './auth/tokens';
import { SCHEMA_PATTERN } from './postgres';
import { isTimeZone } from './time/window';

/** Booleans from the environment: only these spellings, so a typo stops start-up instead of meaning false. */
const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const url = (name: string, schemes: readonly string[]) =>
  z
    .string()
    .refine((value) => schemes.some((scheme) => value.startsWith(`${scheme}://`)), {
      message: `${name} must start with ${schemes.map((s) => `${s}://`).join(' or ')}`,
    })
    .optional();

/** proxy-addr's syntax, as Express's 'trust proxy' takes it: names (loopback, linklocal, uniquelocal), addresses and CIDR ranges. */
const proxies = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part !== ''))
  .refine(
    (list) => {
      try {
        proxyaddr.compile(list);
        return list.length > 0;
      } catch {
        return false;
      }
    },
    { message: 'TRUST_PROXY must be comma-separated addresses, CIDR ranges or loopback, linklocal, uniquelocal' },
  );

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const limit = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    /** Unset: 127.0.0.1 in the embedded mode (one process on this machine), 0.0.0.0 against servers (instances behind a balancer). */
    HOST: z.string().min(1).optional(),
    /** Peers whose X-Forwarded-For is believed (client IPs for rate limits and idempotency scopes); anyone else is their own address. */
    TRUST_PROXY: proxies.default(['loopback']),
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    DATA_DIR: z.string().min(1).default('./data'),
    EVENTSTORE_URL: url('EVENTSTORE_URL', ['kurrentdb', 'kdb', 'esdb', 'kurrentdb+discover', 'esdb+discover']),
    MONGODB_URL: url('MONGODB_URL', ['mongodb', 'mongodb+srv']),
    /** The event log, read models, data keys on PostgreSQL (EVENTSTORE_URL and MONGODB_URL win where set). */
    DATABASE_URL: url('DATABASE_URL', ['postgres', 'postgresql']),
    /** Every table lives in this schema, created at start-up, so tenants and tests can share one server. */
    DATABASE_SCHEMA: z.string().regex(SCHEMA_PATTERN, 'DATABASE_SCHEMA must be a lower-case identifier of at most 40 characters').default('eventmart'),
    DATABASE_POOL_SIZE: positiveInt(10),
    /** The server cancels a statement still running after this. */
    DATABASE_STATEMENT_TIMEOUT_MS: positiveInt(10_000),
    REDIS_URL: url('REDIS_URL', ['redis', 'rediss']),
    REDIS_PREFIX: z.string().min(1).default('eventmart:'),
    /** HS256 needs at least 256 bits of key. */
    JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
    /** AES-256 key (base64, 32 bytes) that seals payer data; see src/shared/crypto/payer.ts. */
    PAYER_KEY: z
      .string()
      .refine((value) => Buffer.from(value, 'base64').length === 32, { message: 'PAYER_KEY must be 32 bytes, base64-encoded' })
      .optional(),
    /** Tokens are refused once older than this after their `iat`, whatever their `exp` says. */
    JWT_MAX_TOKEN_AGE_HOURS: z.coerce.number().positive().max(24 * 366).default(DEFAULT_MAX_TOKEN_AGE_HOURS),
    /** When set, tokens must carry this `iss` / `aud` (deployments that share a key); dev tokens carry them. */
    JWT_ISSUER: z.string().max(200).optional(),
    JWT_AUDIENCE: z.string().max(200).optional(),
    AUTH_DEV_TOKENS: flag.optional(),
    /** Dev tokens are minted for loopback clients only, unless this says otherwise. */
    AUTH_DEV_TOKENS_REMOTE: flag.default(false),
    RUN_PROJECTIONS: flag.default(true),
    /** Off sends every request through Express: to compare the two transports, or to rule the fast lane out. */
    FAST_LANE: flag.default(true),
    SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL']).default('FULL'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** auto: pretty, coloured lines on a terminal outside production (when pino-pretty is installed), JSON otherwise. */
    LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
    BODY_LIMIT_BYTES: positiveInt(64 * 1024),
    POINTS_MAX_CHARGE: positiveInt(1_000_000),
    POINTS_BALANCE_CAP: positiveInt(10_000_000),
    /** How long a placed order may be paid at the prices it was placed at. */
    ORDER_PAYMENT_TTL_MINUTES: positiveInt(30),
    COMMAND_MAX_ATTEMPTS: positiveInt(8),
    AGGREGATE_CACHE_SIZE: positiveInt(10_000),
    /** A stream gets a snapshot in DATA_DIR/snapshots.db every this many events; 0: no snapshots. */
    SNAPSHOT_EVERY: limit(1_000),
    CONSISTENCY_WAIT_MS: positiveInt(5_000),
    /** Off: reads wait only for X-Consistent-With, and writes record nothing (clients that send the header themselves; the bench's baseline). */
    READ_YOUR_WRITES: flag.default(true),
    /** How long a user's latest write is remembered for read-your-writes: well beyond any healthy projection lag. */
    SESSION_POSITION_TTL_MS: positiveInt(300_000),
    PROJECTION_POLL_MS: positiveInt(200),
    /** Events a projection reads, applies and commits with its checkpoint at a time (live, catch-up and rebuild). */
    PROJECTION_BATCH_SIZE: positiveInt(500),
    /** How long a process holds a projection's lease without renewing it: a dead runner is replaced within about this long. */
    PROJECTION_LEASE_MS: positiveInt(10_000),
    /** This process's name across restarts: a restarted instance takes its own leases back at once. Unset: see instanceIdOf. */
    INSTANCE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._:@/-]{1,200}$/, 'INSTANCE_ID must be 1 to 200 letters, digits or . _ : @ / -')
      .optional(),
    POPULAR_TIMEZONE: z.string().refine(isTimeZone, { message: 'POPULAR_TIMEZONE must be an IANA time zone such as Asia/Seoul' }).default('Asia/Seoul'),
    POPULAR_REFRESH_MS: positiveInt(10_000),
    IDEMPOTENCY_TTL_HOURS: z.coerce.number().int().min(24, 'keys are kept at least 24 hours (docs/API.md)').default(24),
    /** Unset: orders go to a built-in mock data platform on a local port (logged at start-up). */
    DATA_PLATFORM_URL: url('DATA_PLATFORM_URL', ['http', 'https']),
    DATA_PLATFORM_TIMEOUT_MS: positiveInt(5_000),
    /** Failed requests after which a delivery is DEAD (an admin may retry it). */
    DATA_PLATFORM_MAX_ATTEMPTS: positiveInt(10),
    DATA_PLATFORM_BACKOFF_BASE_MS: positiveInt(1_000),
    DATA_PLATFORM_BACKOFF_MAX_MS: positiveInt(5 * 60_000),
    /** Consecutive failures that open the circuit breaker, and how long it stays open before a trial request. */
    DATA_PLATFORM_BREAKER_FAILURES: positiveInt(5),
    DATA_PLATFORM_BREAKER_HALF_OPEN_MS: positiveInt(15_000),
    DATA_PLATFORM_RECONCILE_MS: positiveInt(30_000),
    /** Concurrent deliveries per process; 0 leaves delivering (and reconciling) to other processes. */
    DELIVERY_WORKERS: z.coerce.number().int().min(0).max(64).default(2),
    DELIVERY_POLL_MS: positiveInt(500),
    /** How long a claimed queue job is held before another worker may take it over. */
    QUEUE_LEASE_MS: positiveInt(60_000),
    /** Master keys that PAYER_KEY replaced (comma-separated, base64): they still unwrap data keys until those are re-wrapped. */
    PAYER_KEY_PREVIOUS: z
      .string()
      .transform((value) => value.split(',').map((key) => key.trim()).filter((key) => key !== ''))
      .refine((keys) => keys.every((key) => Buffer.from(key, 'base64').length === 32), {
        message: 'PAYER_KEY_PREVIOUS must be comma-separated keys of 32 bytes, base64-encoded',
      })
      .default([]),
    /** A read (or a write sent with an Idempotency-Key) still running after this gets 503; see src/shared/http/route.ts. */
    REQUEST_TIMEOUT_MS: positiveInt(15_000),
    /** Abuse limits: requests per window, per user and per client IP; 0 switches one off. */
    RATE_LIMIT_WINDOW_MS: positiveInt(60_000),
    RATE_LIMIT_WRITE_PER_USER: limit(3_000),
    RATE_LIMIT_WRITE_PER_IP: limit(60_000),
    RATE_LIMIT_ISSUE_PER_USER: limit(600),
    RATE_LIMIT_ISSUE_PER_IP: limit(60_000),
    RATE_LIMIT_TOKEN_PER_IP: limit(1_200),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && env.AUTH_DEV_TOKENS) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_DEV_TOKENS'], message: 'dev tokens are never offered with NODE_ENV=production' });
    }
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'NODE_ENV=production needs JWT_SECRET' });
    } else if ((env.EVENTSTORE_URL || env.DATABASE_URL) && !env.JWT_SECRET) {
      // Instances sharing a server-backed store must accept each other's tokens.
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: `${sharedBy(env)} (several instances) needs a shared JWT_SECRET` });
    }
    if (env.DATABASE_URL && !env.REDIS_URL) {
      // Locks, leases, the coupon gate, rate limits, the queue and cache invalidation must be
      // shared by every instance, and only Redis serves them across processes.
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message: 'DATABASE_URL (several instances) needs REDIS_URL too: locks, leases, the coupon gate, rate limits, the delivery queue and cache invalidation are shared through Redis',
      });
    }
    if (env.QUEUE_LEASE_MS < 3 * env.DATA_PLATFORM_TIMEOUT_MS) {
      // A delivery may wait out the breaker's trial request, then make its own: a lease that ran
      // out meanwhile would hand the job to a second worker.
      ctx.addIssue({ code: 'custom', path: ['QUEUE_LEASE_MS'], message: 'QUEUE_LEASE_MS must be at least 3 x DATA_PLATFORM_TIMEOUT_MS' });
    }
    if ((env.NODE_ENV === 'production' || env.EVENTSTORE_URL || env.DATABASE_URL) && !env.PAYER_KEY) {
      ctx.addIssue({ code: 'custom', path: ['PAYER_KEY'], message: 'production and shared stores need PAYER_KEY (every instance must open what another sealed)' });
    }
  });

/** The setting that makes the stores shared, for messages. */
const sharedBy = (env: { EVENTSTORE_URL?: string }) => (env.EVENTSTORE_URL ? 'EVENTSTORE_URL' : 'DATABASE_URL');

export type Config = ReturnType<typeof toConfig>;

/** Every variable the schema reads: docs/CONFIGURATION.md must name each (test/unit/config.test.ts). */
export const SETTING_NAMES: readonly string[] = Object.keys(schema.shape);

function toConfig(env: z.infer<typeof schema>) {
  const embedded = !env.EVENTSTORE_URL && !env.DATABASE_URL;
  return {
    ...env,
    HOST: env.HOST ?? (embedded ? '127.0.0.1' : '0.0.0.0'),
    embedded,
    /** Dev tokens default on only where nothing is shared: the embedded mode outside production. */
    devTokens: env.AUTH_DEV_TOKENS ?? (embedded && env.NODE_ENV !== 'production'),
  };
}

/** The programs of this repository that run projections: the API, `npm run projector`, the operator CLI. */
export type Program = 'api' | 'projector' | 'cli';

/**
 * The instance's stable name: INSTANCE_ID, or what the same process started again on this host
 * gets again: an API by its port (two cannot listen on one), the others by their data directory.
 * An API on an ephemeral port (PORT=0) has nothing its restart gets again, and would share the
 * name with every neighbour on the host (taking their live leases at its start): it gets a name
 * of its own, and its restart waits out its leases like any other instance's.
 */
export function instanceIdOf(config: Config, program: Program): string {
  if (config.INSTANCE_ID) return config.INSTANCE_ID;
  if (program !== 'api') return `${hostname()}:${program}:${resolve(config.DATA_DIR)}`;
  return config.PORT === 0 ? `${hostname()}:api:ephemeral:${process.pid}:${randomUUID().slice(0, 8)}` : `${hostname()}:api:${config.PORT}`;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads the configuration once; blank variables count as unset so `FOO=` in a shell does not mean "". */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  return toConfig(parsed.data);
}
