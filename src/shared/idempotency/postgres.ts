import { Migration, Postgres } from '../postgres';
import { Claim, IdempotencyStore, StoredResponse } from './port';
import { PURGE_BATCH, PURGE_EVERY_CLAIMS, RecordRow } from './rows';

/** A record that vanished between our refused insert and our read is claimed again; this bounds that loop. */
const CLAIM_ATTEMPTS = 5;

/**
 * Idempotency records in PostgreSQL, one row per user and key, shared by every instance on the
 * database. Each decision is one statement on the row (INSERT ... ON CONFLICT DO UPDATE ... WHERE,
 * DELETE ... WHERE), so the row lock, not a read-then-write, settles a race between instances.
 * Expiry is the server's clock (`clock_timestamp()`), so instances with skewed clocks agree.
 *
 * An expired row counts as absent in every statement. Expired rows are deleted by a sweep of at
 * most PURGE_BATCH rows that every PURGE_EVERY_CLAIMS-th claim of this instance starts without
 * waiting for it (SKIP LOCKED: sweeps of several instances never wait for each other or for a claim).
 *
 * The response is kept as text, not jsonb, so that a replay answers the first answer's bytes
 * (jsonb would reorder its keys).
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly adapterName = 'postgres';
  private readonly table: string;
  private claimsSincePurge = 0;
  private purging: Promise<void> = Promise.resolve();

  private constructor(private readonly pg: Postgres) {
    this.table = pg.table('idempotency_keys');
  }

  static async open(pg: Postgres): Promise<PostgresIdempotencyStore> {
    await pg.migrate(migrations(pg));
    return new PostgresIdempotencyStore(pg);
  }

  async claim(scope: string, key: string, fingerprint: string, inFlightMs: number): Promise<Claim> {
    if (++this.claimsSincePurge >= PURGE_EVERY_CLAIMS) {
      this.claimsSincePurge = 0;
      // A failed sweep loses nothing: the rows stay expired (never answering) until the next one.
      this.purging = this.purging.then(() => this.purge()).catch(() => undefined);
    }
    for (let attempt = 1; ; attempt += 1) {
      // Not retried on a broken connection: a claim that did run would answer our own retry 'in_flight'.
      const claimed = await this.pg.query(
        `INSERT INTO ${this.table} AS k (scope, key, fingerprint, state, response, expires_at)
         VALUES ($1, $2, $3, 'in_flight', NULL, clock_timestamp() + $4::float8 * interval '1 millisecond')
         ON CONFLICT (scope, key) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, state = 'in_flight', response = NULL, expires_at = EXCLUDED.expires_at
           WHERE k.expires_at <= clock_timestamp()
         RETURNING 1`,
        [scope, key, fingerprint, inFlightMs],
        false,
      );
      if (claimed.length === 1) return { outcome: 'claimed' };
      // A live record refused us; a read in a new statement sees it (and whatever it became since).
      const [row] = await this.pg.query<RecordRow>(
        `SELECT fingerprint, state, response FROM ${this.table}
         WHERE scope = $1 AND key = $2 AND expires_at > clock_timestamp()`,
        [scope, key],
      );
      if (row) {
        if (row.fingerprint !== fingerprint) return { outcome: 'mismatch' };
        if (row.state === 'in_flight') return { outcome: 'in_flight' };
        return { outcome: 'replay', response: JSON.parse(row.response ?? 'null') as StoredResponse };
      }
      // Released or expired in between: the key is free again, so try to claim it once more.
      if (attempt >= CLAIM_ATTEMPTS) return { outcome: 'in_flight' };
    }
  }

  /**
   * Absent or expired (our claim ran out): keep the response; present: only over our body's
   * running claim. Retried on a broken connection: a second run finds the kept response and stays.
   */
  async complete(scope: string, key: string, fingerprint: string, response: StoredResponse, ttlMs: number): Promise<void> {
    await this.pg.query(
      `INSERT INTO ${this.table} AS k (scope, key, fingerprint, state, response, expires_at)
       VALUES ($1, $2, $3, 'done', $4, clock_timestamp() + $5::float8 * interval '1 millisecond')
       ON CONFLICT (scope, key) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, state = 'done', response = EXCLUDED.response, expires_at = EXCLUDED.expires_at
         WHERE k.expires_at <= clock_timestamp() OR (k.fingerprint = EXCLUDED.fingerprint AND k.state = 'in_flight')`,
      [scope, key, fingerprint, JSON.stringify(response), ttlMs],
    );
  }

  /** Not retried: a release that did run may meet a newer claim of the same body on the second try. */
  async release(scope: string, key: string, fingerprint: string): Promise<void> {
    await this.pg.query(
      `DELETE FROM ${this.table} WHERE scope = $1 AND key = $2 AND fingerprint = $3 AND state = 'in_flight'`,
      [scope, key, fingerprint],
      false,
    );
  }

  async ping(): Promise<void> {
    await this.pg.query(`SELECT 1 FROM ${this.table} LIMIT 1`);
  }

  /** Waits for a sweep under way; the pool belongs to whoever made it. */
  async close(): Promise<void> {
    await this.purging;
  }

  /** The expiry is checked again on delete: a row claimed afresh since the scan stays. */
  private async purge(): Promise<void> {
    await this.pg.query(
      `DELETE FROM ${this.table} AS k USING (
         SELECT scope, key FROM ${this.table} WHERE expires_at <= clock_timestamp() LIMIT ${PURGE_BATCH} FOR UPDATE SKIP LOCKED
       ) AS expired
       WHERE k.scope = expired.scope AND k.key = expired.key AND k.expires_at <= clock_timestamp()`,
    );
  }
}

/** Keys compare bytewise (COLLATE "C"), as they do in SQLite and Redis. */
function migrations(pg: Postgres): Migration[] {
  return [
    {
      name: 'idempotency-1',
      sql: `CREATE TABLE ${pg.table('idempotency_keys')} (
        scope text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('in_flight', 'done')),
        response text,
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX ON ${pg.table('idempotency_keys')} (expires_at);`,
    },
  ];
}
