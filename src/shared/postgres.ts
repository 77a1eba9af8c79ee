import { Pool, PoolClient, QueryResultRow } from 'pg';

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
 * The server could not be reached, or dropped the connection mid-statement: a failure of the
 * infrastructure, never an answer about the data. The HTTP layer answers it with 503.
 */
export class DatabaseUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super(`PostgreSQL is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DatabaseUnavailable';
  }
}

/** Advisory-lock namespace of ours (the first key of the two-key form), so other users of the server keep theirs. */
const LOCK_NAMESPACE = 0x4576_6d74; // "Evmt"

/** The second lock key for `purpose` in this schema; schemas never wait for each other. */
export const lockKey = (schema: string, purpose: string) => `hashtext(${literal(`${schema}:${purpose}`)})`;
export const lockNamespace = LOCK_NAMESPACE;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * Connection errors and server shutdowns (SQLSTATE classes 08 and 57P): a statement that met one
 * may or may not have run, so only callers whose retry is safe (reads, idempotent writes) retry.
 */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // pg-pool's own words when no connection came within connectionTimeoutMillis (a partition, a full pool that never frees).
  if (typeof code !== 'string') return error instanceof Error && /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(error.message);
  return code.startsWith('08') || code.startsWith('57P') || NETWORK_ERRORS.has(code);
}

/** A host cut off (its link down: no route) fails a connect at once with ENETUNREACH or ENETDOWN, not a timeout. */
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * The pooled client every PostgreSQL adapter of one process shares. Adapters bring their own
 * tables as migrations; `migrate` applies them under an advisory lock so that several instances
 * starting at once take turns instead of racing CREATE TABLE into duplicate-key errors.
 */
export class Postgres {
  readonly pool: Pool;
  readonly schema: string;

  constructor(readonly options: PostgresOptions) {
    if (!SCHEMA_PATTERN.test(options.schema)) throw new Error(`schema name ${JSON.stringify(options.schema)} must match ${SCHEMA_PATTERN}`);
    this.schema = options.schema;
    this.pool = new Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      // A transaction left open by a bug must not hold row locks (or our advisory lock) for long.
      idle_in_transaction_session_timeout: Math.max(options.statementTimeoutMs ?? 10_000, 10_000) * 3,
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      application_name: 'eventmart',
    });
    // An idle connection that breaks is an 'error' on the pool; unhandled, it would end the process.
    this.pool.on('error', (error) => options.onError?.(error));
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
   * One statement on a pooled connection. A read (`retry: true`) that meets a broken connection
   * is tried once more on a fresh one; any connection failure that remains is DatabaseUnavailable.
   */
  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = [], retry = true): Promise<R[]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return (await this.pool.query<R>(sql, params as unknown[])).rows;
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        if (!retry || attempt >= 2) throw new DatabaseUnavailable(error);
      }
    }
  }

  /** `fn` in one transaction on one connection; rolled back if it throws. Not retried: callers decide. */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw isConnectionError(error) ? new DatabaseUnavailable(error) : error;
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = isConnectionError(error);
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      throw broken ? new DatabaseUnavailable(error) : error;
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
