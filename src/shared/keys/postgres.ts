import { Migration, Postgres } from '../postgres';
import { DataKeyStore, WrappedDataKey } from './port';
import { KeyRow as Row, toKey } from './row';

const COLUMNS = 'user_id, key_id, master_key_id, wrapped';

/**
 * Data keys in a table of their own. PostgreSQL never overwrites a row in place: a DELETE (or
 * a rewrap's UPDATE) leaves the old version in the page, and even VACUUM only marks its space
 * free, the bytes staying until a new row lands there. So the table is hash-partitioned and a
 * destroy rewrites the one partition that held the key (VACUUM FULL: a new file with the live
 * rows only, the old one unlinked), a short exclusive lock on a sixteenth of the keys.
 *
 * The DELETE and the VACUUM FULL are two statements (VACUUM runs outside any transaction), so
 * the DELETE records in the same statement that its partition owes a rewrite, and a destroy
 * pays every rewrite owed before it answers: a destroy repeated after a lost answer, a timed
 * out VACUUM or a crash in between finds the debt and finishes it, and one that cannot fails.
 * What PostgreSQL still keeps after that (WAL segments until recycled, archives, replicas,
 * backups, the unlinked file's blocks on the disk) is in docs/SECURITY.md; a wrapped key is
 * useless without the master key all the same.
 */
export class PostgresDataKeyStore implements DataKeyStore {
  readonly adapterName = 'postgres';
  private readonly table: string;
  private readonly owed: string;

  private constructor(private readonly pg: Postgres) {
    this.table = pg.table('data_keys');
    this.owed = pg.table('data_key_rewrites_owed');
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
    const deleted = await this.pg.query(
      `WITH gone AS (DELETE FROM ${this.table} WHERE user_id = $1 RETURNING tableoid::regclass::text AS partition)
       INSERT INTO ${this.owed} (user_id, partition) SELECT $1, partition FROM gone RETURNING user_id`,
      [userId],
    );
    const owed = await this.pg.query<{ id: string; user_id: string; partition: string }>(`SELECT id, user_id, partition FROM ${this.owed}`);
    for (const partition of new Set(owed.map((row) => row.partition))) await this.pg.query(`VACUUM FULL ${partition}`);
    // Only the debts read before the rewrites: one recorded meanwhile is its destroy's to pay.
    if (owed.length > 0) await this.pg.query(`DELETE FROM ${this.owed} WHERE id = ANY($1::bigint[])`, [owed.map((row) => row.id)]);
    return deleted.length > 0 || owed.some((row) => row.user_id === userId);
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
    {
      name: 'data-keys-2',
      sql: `CREATE TABLE ${pg.table('data_key_rewrites_owed')} (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id text NOT NULL,
        partition text NOT NULL
      )`,
    },
  ];
}
