import { Client, ClientConfig, Pool, PoolClient, QueryConfig, QueryResultRow } from 'pg';

export interface PostgresOptions {
  /** postgres:// or postgresql:// */
  readonly url: string;
  /** Every table of ours lives in this schema, so tests and tenants can share one server. */
  readonly schema: string;
  readonly poolSize?: number;
  /** A statement still running after this is cancelled by the server (a stuck query must not hold a connection forever). */
  readonly statementTimeoutMs?: number;
  /** Told about a pooled connection that broke while idle (the pool replaces it). */
  readonly onError?: (error: Error) => void;
}

/**
 * A schema name we can splice into SQL: PostgreSQL's unquoted identifiers, lower case, short
 * enough that channel names built from it (`<schema>:appended`) stay within NAMEDATALEN.
 */
export const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,39}$/;

/** One step of an adapter's schema: applied once per schema, in order, recorded by name. */
export interface Migration {
  readonly name: string;
  readonly sql: string;
}

/**
 * How a failure of the database reads to its caller (null: it is an answer about the statement,
 * a constraint or a bug, and the caller's to handle):
 * - `lost`: the connection broke or never came; a statement sent may or may not have run.
 * - `refused`: the server turned the statement away or rolled it back (overloaded, out of
 *   resources, a deadlock or serialization victim, shutting down): nothing of it was applied.
 * - `timeout`: cancelled after its time (statement_timeout), or we stopped waiting (the query
 *   timeout); the caller's time is spent, so nobody retries it.
 */
export type Outage = 'lost' | 'refused' | 'timeout';

/**
 * PostgreSQL failing, not the request: a failure of the infrastructure, never an answer about
 * the data. The HTTP layer answers it with 503 STORE_UNAVAILABLE.
 */
export class DatabaseUnavailable extends Error {
  constructor(
    override readonly cause: unknown,
    readonly outage: Outage,
  ) {
    super(`PostgreSQL is unavailable (${outage}): ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DatabaseUnavailable';
  }
}

/** Advisory-lock namespace of ours (the first key of the two-key form), so other users of the server keep theirs. */
const LOCK_NAMESPACE = 0x4576_6d74; // "Evmt"

/** The second lock key for `purpose` in this schema; schemas never wait for each other. */
export const lockKey = (schema: string, purpose: string) => `hashtext(${literal(`${schema}:${purpose}`)})`;
export const lockNamespace = LOCK_NAMESPACE;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** SQLSTATEs of a statement the server refused or rolled back as a whole; whole classes where the last two characters are '000'. */
const REFUSED = new Set([
  '53000', // insufficient_resources (class 53: too many connections, disk full, out of memory...)
  '58000', // system_error (class 58: I/O errors and the like, outside PostgreSQL)
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '55006', // object_in_use
]);

/** What `error` says about the database (see Outage). */
export function outageOf(error: unknown): Outage | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') {
    if (!(error instanceof Error)) return null;
    // pg's own words: its query timeout, and the pool giving up on a connection (a partition, a full pool that never frees).
    if (/Query read timeout/.test(error.message)) return 'timeout';
    return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(error.message) ? 'lost' : null;
  }
  if (NETWORK_ERRORS.has(code)) return 'lost';
  // query_canceled: statement_timeout, or pg_cancel_backend. The statement was rolled back.
  if (code === '57014') return 'timeout';
  // Connection exceptions (08), operator intervention (57: shutdowns, crash recovery, cannot_connect_now), sessions the server ended (25P03 idle in transaction, 25P04 transaction timeout).
  if (code.startsWith('08') || code.startsWith('57') || code === '25P03' || code === '25P04') return 'lost';
  return REFUSED.has(code) || REFUSED.has(`${code.slice(0, 2)}000`) ? 'refused' : null;
}

/** A host cut off (its link down: no route) fails a connect at once with ENETUNREACH or ENETDOWN, not a timeout. */
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN']);

/** DatabaseUnavailable for an outage, else the error itself. */
const unavailableOr = (error: unknown) => {
  const outage = outageOf(error);
  return outage ? new DatabaseUnavailable(error, outage) : error;
};

/** How much longer than the statement timeout we wait for its answer: the server's cancel has to reach us. */
const QUERY_TIMEOUT_MARGIN_MS = 2_000;
/** Idle time before the first keepalive probe (the OS default is two hours). */
const KEEPALIVE_IDLE_MS = 10_000;

/**
 * The pooled client every PostgreSQL adapter of one process shares. Adapters bring their own
 * tables as migrations; `migrate` applies them under an advisory lock so that several instances
 * starting at once take turns instead of racing CREATE TABLE into duplicate-key errors.
 */
export class Postgres {
  readonly pool: Pool;
  readonly schema: string;
  /** Our own wait for an answer: a connection cut mid-query (its link down) answers nothing, not even the statement timeout. */
  private readonly queryTimeoutMs: number;

  constructor(readonly options: PostgresOptions) {
    if (!SCHEMA_PATTERN.test(options.schema)) throw new Error(`schema name ${JSON.stringify(options.schema)} must match ${SCHEMA_PATTERN}`);
    this.schema = options.schema;
    const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
    this.queryTimeoutMs = statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS;
    this.pool = new Pool({
      ...this.connection('eventmart'),
      max: options.poolSize ?? 10,
      statement_timeout: statementTimeoutMs,
      // A transaction left open by a bug must not hold row locks (or our advisory lock) for long.
      idle_in_transaction_session_timeout: Math.max(statementTimeoutMs, 10_000) * 3,
    });
    // An idle connection that breaks is an 'error' on the pool; unhandled, it would end the process.
    this.pool.on('error', (error) => options.onError?.(error));
  }

  /** A connection of its own, outside the pool (LISTEN holds one for good), set up as the pool's are. */
  client(applicationName: string): Client {
    return new Client(this.connection(applicationName));
  }

  private connection(applicationName: string): ClientConfig {
    return {
      connectionString: this.options.url,
      connectionTimeoutMillis: 5_000,
      // Probes on an idle connection, so that one whose peer vanished (a partition, a crashed host) is found and replaced.
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
      application_name: applicationName,
    };
  }

  /** A table (or function) of our schema, quoted for SQL. */
  table(name: string): string {
    return `"${this.schema}"."${name}"`;
  }

  /** Fails with DatabaseUnavailable when the server does not answer; start-up calls it first. */
  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  /**
   * One statement on a pooled connection, waited for at most the statement timeout and a margin.
   * A read (`retry: true`) whose connection was lost or whose statement was refused is tried
   * once more on a fresh one (not after a timeout: the time is spent). Any outage that remains
   * is DatabaseUnavailable; writes pass `retry: false` unless running them twice is harmless.
   */
  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = [], retry = true): Promise<R[]> {
    // pg takes query_timeout per query; its types do not list it.
    const config: QueryConfig & { query_timeout: number } = { text: sql, values: params as unknown[], query_timeout: this.queryTimeoutMs };
    for (let attempt = 1; ; attempt += 1) {
      try {
        // pool.query drops the connection after any failure, so a retry always gets another.
        return (await this.pool.query<R>(config)).rows;
      } catch (error) {
        const outage = outageOf(error);
        if (outage === null) throw error;
        if (!retry || outage === 'timeout' || attempt >= 2) throw new DatabaseUnavailable(error, outage);
      }
    }
  }

  /**
   * `fn` in one transaction on one connection; rolled back if it throws. Not retried: callers
   * decide. Its statements are bounded by the statement timeout only (some lift it).
   */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw unavailableOr(error);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = outageOf(error) === 'lost';
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      throw unavailableOr(error);
    } finally {
      client.release(broken);
    }
  }

  /**
   * Creates the schema and applies the migrations not yet recorded, in one transaction under a
   * lock of this schema: the first instance does the work, the others wait, then find it done.
   */
  async migrate(migrations: readonly Migration[]): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${lockKey(this.schema, 'migrate')})`);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.table('migrations')} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Set((await client.query<{ name: string }>(`SELECT name FROM ${this.table('migrations')}`)).rows.map((row) => row.name));
      for (const migration of migrations) {
        if (done.has(migration.name)) continue;
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${this.table('migrations')} (name) VALUES ($1)`, [migration.name]);
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
