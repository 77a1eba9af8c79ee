import {
  AnyBulkWriteOperation,
  ClientSession,
  Collection,
  Db,
  Filter,
  MongoClient,
  MongoServerError,
  Sort as MongoSort,
} from 'mongodb';
import {
  After,
  checkName,
  checkWrite,
  conditions,
  decodeCursor,
  encodeCursor,
  IndexCatalog,
  Sort,
  sortOf,
} from './query';
import { Checkpoint, CheckpointMoved, LeaseFenced, CollectionSpec, Doc, DocumentStore, DocWrite, FindQuery, Page } from './port';

interface Stored {
  _id: string;
  [field: string]: unknown;
}

interface StoredCheckpoint {
  _id: string;
  position: string | null;
  fence?: number;
}

const NAMESPACE_NOT_FOUND = 26;
/** Documents deleted per round trip by `reset`: each is its own short write, far from any time limit. */
export const RESET_CHUNK = 1000;

const key = (field: string) => (field === 'id' ? '_id' : field);
const clausesOf = (query: FindQuery): Filter<Stored>[] => conditions(query).map((c) => ({ [key(c.field)]: { [`$${c.op}`]: c.value } }));
const toDoc = <T extends Doc>({ _id, ...rest }: Stored): T => ({ id: _id, ...rest }) as unknown as T;

/**
 * Read-model documents in MongoDB, a thin pass-through: id is `_id`, every declared index is a
 * compound ascending index ending in `_id` (so ties sort from the index), and a write batch is
 * one transaction with its checkpoint (transactions need a replica set).
 */
export class MongoDocumentStore implements DocumentStore {
  readonly adapterName = 'mongodb';
  private readonly catalog = new IndexCatalog();
  private readonly checkpoints: Collection<StoredCheckpoint>;

  /** `owned`: close() closes the client too; a shared one (see `over`) is closed by whoever made it. */
  private constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
    private readonly owned: boolean,
  ) {
    this.checkpoints = db.collection<StoredCheckpoint>('checkpoints');
  }

  /** The database is the one named in the URL (the driver's default when none is). */
  static async connect(url: string): Promise<MongoDocumentStore> {
    const client = await MongoClient.connect(url);
    return new MongoDocumentStore(client, client.db(), true);
  }

  /** Over a client the process shares (one connection pool for documents and keys). */
  static over(client: MongoClient): MongoDocumentStore {
    return new MongoDocumentStore(client, client.db(), false);
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    this.catalog.declare(spec);
    for (const fields of spec.indexes) {
      await this.collection(spec.name).createIndex(Object.fromEntries([...fields, '_id'].map((f) => [f, 1])));
    }
  }

  async get<T extends Doc>(collection: string, id: string): Promise<T | null> {
    const stored = await this.collection(collection).findOne({ _id: id });
    return stored ? toDoc<T>(stored) : null;
  }

  async getMany<T extends Doc>(collection: string, ids: readonly string[]): Promise<T[]> {
    if (ids.length === 0) return [];
    return (await this.collection(collection).find({ _id: { $in: [...ids] } }).toArray()).map((s) => toDoc<T>(s));
  }

  async find<T extends Doc>(collection: string, query: FindQuery): Promise<Page<T>> {
    await this.catalog.check(collection, query, () => this.storedIndexes(collection));
    const sort = sortOf(query);
    const clauses = clausesOf(query);
    if (query.cursor) clauses.push(afterFilter(sort, decodeCursor(query.cursor, sort)));
    const dir = sort.direction === 'asc' ? 1 : -1;
    const order: MongoSort = sort.field === 'id' ? { _id: dir } : { [sort.field]: dir, _id: dir };
    // Reading limit + 1 tells whether another page exists without a count.
    const found = await this.collection(collection)
      .find(clauses.length > 0 ? { $and: clauses } : {}, { sort: order, limit: query.limit + 1 })
      .toArray();
    const items = found.slice(0, query.limit).map((s) => toDoc<T>(s));
    return { items, nextCursor: found.length > query.limit ? encodeCursor(sort, items[items.length - 1]) : null };
  }

  async count(collection: string, where: FindQuery['where'] = {}): Promise<number> {
    const query = { where, limit: 1 };
    await this.catalog.check(collection, query, () => this.storedIndexes(collection));
    const clauses = clausesOf(query);
    return this.collection(collection).countDocuments(clauses.length > 0 ? { $and: clauses } : {});
  }

  async write(writes: readonly DocWrite[], checkpoint?: Checkpoint): Promise<void> {
    writes.forEach(checkWrite);
    const batches = new Map<string, AnyBulkWriteOperation<Stored>[]>();
    for (const w of writes) {
      const ops = batches.get(w.collection) ?? [];
      batches.set(w.collection, ops);
      if (w.kind === 'delete') ops.push({ deleteOne: { filter: { _id: w.id } } });
      else {
        // Stored as its JSON form, like SQLite: what cannot be JSON (a BigInt) is refused here,
        // and a Date reads back as the same string from either adapter.
        const { id, ...rest } = JSON.parse(JSON.stringify(w.doc)) as Doc;
        ops.push({ replaceOne: { filter: { _id: id }, replacement: { _id: id, ...rest }, upsert: true } });
      }
    }
    if (batches.size === 0 && !checkpoint) return;
    await this.transaction(async (session) => {
      if (checkpoint && (checkpoint.previous !== undefined || checkpoint.fence !== undefined)) {
        const stored = await this.checkpoints.findOne({ _id: checkpoint.projection }, { session });
        if (checkpoint.fence !== undefined && (stored?.fence ?? 0) > checkpoint.fence) {
          throw new LeaseFenced(checkpoint.projection, checkpoint.fence, stored!.fence!);
        }
        const actual = stored?.position ?? null;
        if (checkpoint.previous !== undefined && actual !== checkpoint.previous) throw new CheckpointMoved(checkpoint.projection, checkpoint.previous, actual);
      }
      for (const [collection, ops] of batches) await this.collection(collection).bulkWrite(ops, { session });
      if (checkpoint) {
        await this.checkpoints.updateOne(
          { _id: checkpoint.projection },
          { $set: { position: checkpoint.position }, ...(checkpoint.fence !== undefined ? { $max: { fence: checkpoint.fence } } : {}) },
          { upsert: true, session },
        );
      }
    });
  }

  async getCheckpoint(projection: string): Promise<string | null> {
    return (await this.checkpoints.findOne({ _id: projection }))?.position ?? null;
  }

  /**
   * Not one transaction: deleting a large read model in one can outlive MongoDB's 60 s
   * transaction lifetime. Documents go in chunks, each its own short write, and the checkpoint
   * is cleared last, so a reset that stops half-way fails loudly with the old checkpoint still
   * in place and is simply run again (it is idempotent); readers see the model empty out either way.
   */
  async reset(projection: string, collections: readonly string[]): Promise<void> {
    collections.forEach((c) => checkName('collection', c));
    for (const name of collections) {
      const collection = this.collection(name);
      for (;;) {
        const chunk = await collection.find({}, { projection: { _id: 1 }, sort: { _id: 1 }, limit: RESET_CHUNK }).toArray();
        if (chunk.length === 0) break;
        await collection.deleteMany({ _id: { $in: chunk.map((doc) => doc._id) } });
      }
    }
    await this.checkpoints.updateOne({ _id: projection }, { $set: { position: null } });
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    if (this.owned) await this.client.close();
  }

  private collection(name: string): Collection<Stored> {
    return this.db.collection<Stored>(name);
  }

  private async transaction(fn: (session: ClientSession) => Promise<void>): Promise<void> {
    await this.client.withSession((session) => session.withTransaction(() => fn(session)));
  }

  private async storedIndexes(collection: string): Promise<string[][]> {
    try {
      const indexes = await this.collection(collection).listIndexes().toArray();
      return indexes.map((index) => Object.keys(index.key).filter((f) => f !== '_id')).filter((f) => f.length > 0);
    } catch (error) {
      if (error instanceof MongoServerError && error.code === NAMESPACE_NOT_FOUND) return [];
      throw error;
    }
  }
}

/**
 * Strictly after the cursor in (sort value, _id) order. null and a missing field sort first
 * ascending; range operators never match them, hence the explicit null branches.
 */
function afterFilter(sort: Sort, after: After): Filter<Stored> {
  const [beyond, dir] = sort.direction === 'asc' ? (['$gt', 1] as const) : (['$lt', -1] as const);
  if (sort.field === 'id') return { _id: { [beyond]: after.id } };
  const f = sort.field;
  if (after.value === null) {
    const nullsRest = { [f]: null, _id: { [beyond]: after.id } };
    return dir === 1 ? { $or: [nullsRest, { [f]: { $ne: null } }] } : nullsRest;
  }
  const valuesRest = [{ [f]: { [beyond]: after.value } }, { [f]: { $eq: after.value }, _id: { [beyond]: after.id } }];
  return { $or: dir === 1 ? valuesRest : [...valuesRest, { [f]: null }] };
}
