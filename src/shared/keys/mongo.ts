import { Collection, Db, MongoClient, MongoServerError } from 'mongodb';
import { DataKeyStore, WrappedDataKey } from './port';

interface Stored {
  _id: string;
  keyId: string;
  masterKeyId: string;
  wrapped: string;
}

const DUPLICATE_KEY = 11000;

const toKey = ({ _id, keyId, masterKeyId, wrapped }: Stored): WrappedDataKey => ({ userId: _id, keyId, masterKeyId, wrapped });

/**
 * Data keys in MongoDB (with MONGODB_URL), so that every API instance opens what another one
 * sealed. One document per user, `_id` the user id: the unique `_id` makes create first-writer-
 * wins, and a filtered update is the compare-and-set of rewrap. Writes wait for a journaled
 * majority: a key acknowledged and then lost would be data lost. A destroyed key is gone from
 * queries at once; its bytes leave the oplog and the storage files only as they roll over and
 * compact (wrapped, useless without the master key), and backups keep what they hold.
 */
export class MongoDataKeyStore implements DataKeyStore {
  readonly adapterName = 'mongodb';

  private readonly db: Db;
  private readonly keys: Collection<Stored>;

  /** `owned`: close() closes the client too; a shared one (see `over`) is closed by whoever made it. */
  private constructor(
    private readonly client: MongoClient,
    private readonly owned: boolean,
  ) {
    this.db = client.db();
    this.keys = this.db.collection<Stored>('data_keys', { writeConcern: { w: 'majority', journal: true } });
  }

  /** The database is the one named in the URL, beside the read models, in its own collection. */
  static async connect(url: string): Promise<MongoDataKeyStore> {
    return new MongoDataKeyStore(await MongoClient.connect(url), true);
  }

  /** Over a client the process shares (one connection pool for documents and keys). */
  static over(client: MongoClient): MongoDataKeyStore {
    return new MongoDataKeyStore(client, false);
  }

  async get(userId: string): Promise<WrappedDataKey | null> {
    const stored = await this.keys.findOne({ _id: userId });
    return stored ? toKey(stored) : null;
  }

  async create(key: WrappedDataKey): Promise<WrappedDataKey> {
    try {
      await this.keys.insertOne({ _id: key.userId, keyId: key.keyId, masterKeyId: key.masterKeyId, wrapped: key.wrapped });
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
    }
    const stored = await this.keys.findOne({ _id: key.userId }, { readPreference: 'primary' });
    // Destroyed between our insert and this read: the caller's key is as good as any.
    return stored ? toKey(stored) : this.create(key);
  }

  async rewrap(current: WrappedDataKey, masterKeyId: string, wrapped: string): Promise<boolean> {
    const result = await this.keys.updateOne(
      { _id: current.userId, keyId: current.keyId, masterKeyId: current.masterKeyId },
      { $set: { masterKeyId, wrapped } },
    );
    return result.modifiedCount === 1;
  }

  async destroy(userId: string): Promise<boolean> {
    return (await this.keys.deleteOne({ _id: userId })).deletedCount === 1;
  }

  async list(afterUserId: string | null, limit: number): Promise<WrappedDataKey[]> {
    const stored = await this.keys
      .find(afterUserId === null ? {} : { _id: { $gt: afterUserId } })
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return stored.map(toKey);
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    if (this.owned) await this.client.close();
  }
}
