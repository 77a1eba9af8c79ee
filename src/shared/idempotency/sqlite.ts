import { immediate, openSqlite, SqliteDatabase, SqliteOptions } from '../sqlite';
import { Claim, IdempotencyStore, StoredResponse } from './port';
import { PURGE_BATCH, PURGE_EVERY_CLAIMS, RecordRow } from './rows';

interface Row extends RecordRow {
  expires_at: number;
}

/**
 * Idempotency records in SQLite (one row per user and key). Several processes may share the
 * file: a claim reads and writes inside BEGIN IMMEDIATE, so two of them cannot both see a free key.
 * Expired rows count as absent and are deleted in small batches now and then.
 *
 * `complete` and `release` check the record and write it inside one BEGIN IMMEDIATE too, so
 * they act only on a running claim with the caller's fingerprint (or, for `complete`, on a record
 * that expired): another body may have claimed the key after the caller's claim expired.
 */
export class SqliteIdempotencyStore implements IdempotencyStore {
  readonly adapterName = 'sqlite';
  private readonly db: SqliteDatabase;
  private claimsSincePurge = 0;
  private readonly statements;

  constructor(file: string, options: SqliteOptions = {}) {
    this.db = openSqlite(file, options);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS idempotency_keys (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
        response TEXT,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX IF NOT EXISTS idempotency_keys_expires_at ON idempotency_keys (expires_at);
    `);
    this.statements = {
      get: this.db.prepare<[string, string], Row>(
        'SELECT fingerprint, state, response, expires_at FROM idempotency_keys WHERE scope = ? AND key = ?',
      ),
      claim: this.db.prepare<[string, string, string, number], void>(
        `INSERT OR REPLACE INTO idempotency_keys (scope, key, fingerprint, state, response, expires_at)
         VALUES (?, ?, ?, 'in_flight', NULL, ?)`,
      ),
      complete: this.db.prepare<[string, string, string, string, number], void>(
        `INSERT OR REPLACE INTO idempotency_keys (scope, key, fingerprint, state, response, expires_at)
         VALUES (?, ?, ?, 'done', ?, ?)`,
      ),
      release: this.db.prepare<[string, string, string], void>(
        `DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND fingerprint = ? AND state = 'in_flight'`,
      ),
      purge: this.db.prepare<[number, number], void>(
        `DELETE FROM idempotency_keys WHERE rowid IN
           (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)`,
      ),
      ping: this.db.prepare('SELECT 1'),
    };
  }

  async claim(scope: string, key: string, fingerprint: string, inFlightMs: number): Promise<Claim> {
    if (++this.claimsSincePurge >= PURGE_EVERY_CLAIMS) {
      this.claimsSincePurge = 0;
      this.statements.purge.run(Date.now(), PURGE_BATCH);
    }
    return immediate(this.db, (): Claim => {
      const now = Date.now();
      const row = this.statements.get.get(scope, key);
      if (!row || row.expires_at <= now) {
        this.statements.claim.run(scope, key, fingerprint, now + inFlightMs);
        return { outcome: 'claimed' };
      }
      if (row.fingerprint !== fingerprint) return { outcome: 'mismatch' };
      if (row.state === 'in_flight') return { outcome: 'in_flight' };
      return { outcome: 'replay', response: JSON.parse(row.response ?? 'null') as StoredResponse };
    });
  }

  async complete(
    scope: string,
    key: string,
    fingerprint: string,
    response: StoredResponse,
    ttlMs: number,
  ): Promise<void> {
    const body = JSON.stringify(response);
    immediate(this.db, () => {
      const now = Date.now();
      const row = this.statements.get.get(scope, key);
      // Absent or expired (our claim ran out): keep the response. Present: only our running claim.
      const live = row !== undefined && row.expires_at > now;
      if (live && (row.fingerprint !== fingerprint || row.state !== 'in_flight')) return;
      this.statements.complete.run(scope, key, fingerprint, body, now + ttlMs);
    });
  }

  async release(scope: string, key: string, fingerprint: string): Promise<void> {
    immediate(this.db, () => {
      this.statements.release.run(scope, key, fingerprint);
    });
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
