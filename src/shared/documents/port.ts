/**
 * Read-model documents. Deliberately small and Mongo-shaped so the MongoDB adapter stays a
 * thin pass-through: get, find on declared indexes with one sort field and an opaque cursor,
 * and a batch write that carries the projection checkpoint so a read model and the position
 * it reflects can never disagree.
 */
export interface Doc {
  readonly id: string;
  readonly [field: string]: unknown;
}

export type Scalar = string | number | boolean;

export interface Range {
  readonly gt?: Scalar;
  readonly gte?: Scalar;
  readonly lt?: Scalar;
  readonly lte?: Scalar;
}

export interface FindQuery {
  /** Equality (a scalar) or a range on fields; fields must be covered by a declared index. */
  readonly where?: Readonly<Record<string, Scalar | Range>>;
  /** Sort on one field, ties broken by id in the same direction. Default: id ascending. */
  readonly sort?: { readonly field: string; readonly direction: 'asc' | 'desc' };
  readonly limit: number;
  readonly cursor?: string | null;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** Field lists, each one compound index, e.g. [['userId', 'occurredAt']]. */
export interface CollectionSpec {
  readonly name: string;
  readonly indexes: readonly (readonly string[])[];
}

export type DocWrite =
  | { readonly kind: 'upsert'; readonly collection: string; readonly doc: Doc }
  | { readonly kind: 'delete'; readonly collection: string; readonly id: string };

export interface Checkpoint {
  readonly projection: string;
  readonly position: string | null;
  /**
   * When given, the write happens only if the stored checkpoint is still this one; otherwise
   * nothing is written and CheckpointMoved is thrown. Two processes running one projection
   * can then never both apply the same batch.
   */
  readonly previous?: string | null;
  /**
   * The writer's lease fencing token (LeaseGrant). When given, the write happens only if no
   * larger one has been written for this projection (else nothing is written and LeaseFenced is
   * thrown), and the largest one written is kept, across resets. A runner whose lease was taken
   * over then writes nothing more once its successor has written.
   */
  readonly fence?: number;
}

export class CheckpointMoved extends Error {
  constructor(
    readonly projection: string,
    readonly expected: string | null,
    readonly actual: string | null,
  ) {
    super(`checkpoint of ${projection} is ${actual}, not ${expected}: another runner moved it`);
    this.name = 'CheckpointMoved';
  }
}

export class LeaseFenced extends Error {
  constructor(
    readonly projection: string,
    readonly fence: number,
    readonly current: number,
  ) {
    super(`checkpoint of ${projection} is fenced at ${current}: a writer holding ${fence} has lost its lease`);
    this.name = 'LeaseFenced';
  }
}

export class InvalidCursor extends Error {
  constructor() {
    super('cursor is not one this server issued');
    this.name = 'InvalidCursor';
  }
}

export interface DocumentStore {
  readonly adapterName: string;
  /** Creates the collection's indexes if missing. Idempotent. */
  ensureCollection(spec: CollectionSpec): Promise<void>;
  get<T extends Doc>(collection: string, id: string): Promise<T | null>;
  getMany<T extends Doc>(collection: string, ids: readonly string[]): Promise<T[]>;
  find<T extends Doc>(collection: string, query: FindQuery): Promise<Page<T>>;
  /** How many documents match `where`, which like find's may name only indexed fields: counted in the index. */
  count(collection: string, where?: FindQuery['where']): Promise<number>;
  /** Applies every write, and the checkpoint when given, atomically. */
  write(writes: readonly DocWrite[], checkpoint?: Checkpoint): Promise<void>;
  getCheckpoint(projection: string): Promise<string | null>;
  /** Removes every document of the collections and resets the checkpoint, not its fence (a rebuild starts here). */
  reset(projection: string, collections: readonly string[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
