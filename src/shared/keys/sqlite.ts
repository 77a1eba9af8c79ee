import { immediate, openSqlite, SqliteDatabase, SqliteOptions } from '../sqlite';
import { DataKeyStore, WrappedDataKey } from './port';
import { KeyRow as Row, toKey } from './row';


/**
 * Data keys in their own SQLite file under DATA_DIR. A deleted row would otherwise linger in
 * free pages and in old WAL frames: `secure_delete` zeroes it in the page, and a truncating
 * checkpoint after each destroy drops the WAL frames that still held it.
 */
export class SqliteDataKeyStore implements DataKeyStore {
  readonly adapterName = 'sqlite';
  private readonly db: SqliteDatabase;
  private readonly statements;

  constructor(file: string, options: SqliteOptions = {}) {
    this.db = openSqlite(file, options);
    this.db.pragma('secure_delete = ON');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS data_keys (
        user_id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        master_key_id TEXT NOT NULL,
        wrapped TEXT NOT NULL
      ) WITHOUT ROWID;
    `);
    this.statements = {
      get: this.db.prepare<[string], Row>('SELECT user_id, key_id, master_key_id, wrapped FROM data_keys WHERE user_id = ?'),
      insert: this.db.prepare<[string, string, string, string], void>(
        'INSERT INTO data_keys (user_id, key_id, master_key_id, wrapped) VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING',
      ),
      rewrap: this.db.prepare<[string, string, string, string, string], void>(
        'UPDATE data_keys SET master_key_id = ?, wrapped = ? WHERE user_id = ? AND key_id = ? AND master_key_id = ?',
      ),
      destroy: this.db.prepare<[string], void>('DELETE FROM data_keys WHERE user_id = ?'),
      list: this.db.prepare<[string, number], Row>(
        'SELECT user_id, key_id, master_key_id, wrapped FROM data_keys WHERE user_id > ? ORDER BY user_id LIMIT ?',
      ),
      ping: this.db.prepare('SELECT 1'),
    };
  }

  async get(userId: string): Promise<WrappedDataKey | null> {
    const row = this.statements.get.get(userId);
    return row ? toKey(row) : null;
  }

  async create(key: WrappedDataKey): Promise<WrappedDataKey> {
    return immediate(this.db, () => {
      this.statements.insert.run(key.userId, key.keyId, key.masterKeyId, key.wrapped);
      return toKey(this.statements.get.get(key.userId)!);
    });
  }

  async rewrap(current: WrappedDataKey, masterKeyId: string, wrapped: string): Promise<boolean> {
    return this.statements.rewrap.run(masterKeyId, wrapped, current.userId, current.keyId, current.masterKeyId).changes === 1;
  }

  async destroy(userId: string): Promise<boolean> {
    const destroyed = this.statements.destroy.run(userId).changes === 1;
    if (destroyed) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return destroyed;
  }

  async list(afterUserId: string | null, limit: number): Promise<WrappedDataKey[]> {
    // '' sorts before every user id (they are never empty).
    return this.statements.list.all(afterUserId ?? '', limit).map(toKey);
  }

  async ping(): Promise<void> {
    this.statements.ping.get();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
