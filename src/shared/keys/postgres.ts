import { Migration, Postgres } from '../postgres';
import { DataKeyStore, WrappedDataKey } from './port';
import { KeyRow as Row, toKey } from './row';

const COLUMNS = 'user_id, key_id, master_key_id, wrapped';

/**
 * Data keys in a table of their own. PostgreSQL never overwrites a row in place: a DELETE (or
 * a rewrap's UPDATE) leaves the old version in the page, and even VACUUM only marks its space
 * free, the bytes staying until a new row lands there. So the table is hash-partitioned and a
 * destroy rewrites the one partition that held the key (VACUUM FULL: a new file with the live
 * rows only, the old one unlinked), a short exclusive lock on a sixteenth of the keys. What
 * PostgreSQL still keeps after that (WAL segments until recycled, archives, replicas, backups,
 * the unlinked file's blocks on the disk) is in docs/SECURITY.md; a wrapped key is useless
 * without the master key all the same.
 */
export class PostgresDataKeyStore implements DataKeyStore {
  readonly adapterName = 'postgres';
  private readonly table: string;

  private constructor(private readonly pg: Postgres) {
    this.table = pg.table('data_keys');
  }

  static async open(pg: Postgres): Promise<PostgresDataKeyStore> {
    await pg.migrate(migrations(pg));
    return new PostgresDataKeyStore(pg);
  }

  async get(userId: string): Promise<WrappedDataKey | null> {
    const [row] = await this.pg.query<Row>(`SELECT ${COLUMNS} FROM ${this.table} WHERE user_id = $1`, [userId]);
    return row ? toKey(row) : null;
  }

  /** Insert-if-absent and read back in one statement; the read sees the winner when a racing insert won. */
  async create(key: WrappedDataKey): Promise<WrappedDataKey> {
    await this.pg.query(`INSERT INTO ${this.table} (${COLUMNS}) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING`, [
      key.userId,
      key.keyId,
      key.masterKeyId,
      key.wrapped,
    ]);
    const stored = await this.get(key.userId);
    // Destroyed between our insert and our read: the key we made never served anyone, so try again.
    return stored ?? this.create(key);
  }

  async rewrap(current: WrappedDataKey, masterKeyId: string, wrapped: string): Promise<boolean> {
    const rows = await this.pg.query(
      `UPDATE ${this.table} SET master_key_id = $1, wrapped = $2 WHERE user_id = $3 AND key_id = $4 AND master_key_id = $5 RETURNING user_id`,
      [masterKeyId, wrapped, current.userId, current.keyId, current.masterKeyId],
    );
    return rows.length === 1;
  }

  async destroy(userId: string): Promise<boolean> {
    const rows = await this.pg.query<{ partition: string }>(`DELETE FROM ${this.table} WHERE user_id = $1 RETURNING tableoid::regclass::text AS partition`, [userId]);
    if (rows.length === 0) return false;
    await this.pg.query(`VACUUM FULL ${rows[0].partition}`);
    return true;
  }

  async list(afterUserId: string | null, limit: number): Promise<WrappedDataKey[]> {
    // '' sorts before every user id (they are never empty).
    const rows = await this.pg.query<Row>(`SELECT ${COLUMNS} FROM ${this.table} WHERE user_id > $1 ORDER BY user_id LIMIT $2`, [afterUserId ?? '', limit]);
    return rows.map(toKey);
  }

  async ping(): Promise<void> {
    await this.pg.query(`SELECT 1 FROM ${this.table} LIMIT 1`);
  }

  /** The pool belongs to whoever made it. */
  async close(): Promise<void> {}
}

/** Partitions of the key table: a destroy rewrites one of them. */
export const KEY_PARTITIONS = 16;

/** User ids compare bytewise (COLLATE "C"), as list's order does in SQLite and MongoDB. */
function migrations(pg: Postgres): Migration[] {
  const partitions = Array.from(
    { length: KEY_PARTITIONS },
    (_, i) => `CREATE TABLE ${pg.table(`data_keys_${i}`)} PARTITION OF ${pg.table('data_keys')} FOR VALUES WITH (MODULUS ${KEY_PARTITIONS}, REMAINDER ${i});`,
  );
  return [
    {
      name: 'data-keys-1',
      sql: `CREATE TABLE ${pg.table('data_keys')} (
        user_id text COLLATE "C" PRIMARY KEY,
        key_id text NOT NULL,
        master_key_id text NOT NULL,
        wrapped text NOT NULL
      ) PARTITION BY HASH (user_id);
      ${partitions.join('\n')}`,
    },
  ];
}
