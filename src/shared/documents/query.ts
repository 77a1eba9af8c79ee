/**
 * What both document adapters must agree on so that they answer a query identically: which
 * names are accepted, which queries are allowed (only on declared indexes), and the keyset
 * cursor (the last item's sort value and id), which is opaque to callers.
 */
import { CollectionSpec, DocWrite, FindQuery, InvalidCursor, Range, Scalar } from './port';

export type Sort = NonNullable<FindQuery['sort']>;
export type SortValue = Scalar | null;

export interface After {
  readonly value: SortValue;
  readonly id: string;
}

// Collection and field names end up inside SQL text (expression and partial indexes).
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OPS = new Set(['eq', 'gt', 'gte', 'lt', 'lte']);
/** The MongoDB adapter keeps projection positions in a collection of this name. */
const RESERVED = new Set(['checkpoints']);

export function checkName(kind: 'collection' | 'field', name: string): void {
  if (typeof name !== 'string' || !NAME.test(name) || (kind === 'collection' && RESERVED.has(name))) {
    throw new Error(`invalid ${kind} name: ${JSON.stringify(name)}`);
  }
}

/** Refused before anything is written, so a bad write cannot leave half a batch behind. */
export function checkWrite(write: DocWrite): void {
  checkName('collection', write.collection);
  const id = write.kind === 'upsert' ? write.doc.id : write.id;
  if (typeof id !== 'string' || id === '') {
    throw new Error(`document id must be a non-empty string in ${write.collection}`);
  }
  if (write.kind === 'upsert' && '_id' in write.doc) {
    throw new Error('documents may not carry _id (MongoDB uses it for id)');
  }
}

function isScalar(value: unknown): value is Scalar {
  return (
    typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
  );
}

export type Op = 'eq' | keyof Range;

export interface Condition {
  readonly field: string;
  readonly op: Op;
  readonly value: Scalar;
}

/** The where clause as flat comparisons; a range's absent bounds are dropped. */
export function conditions(query: FindQuery): Condition[] {
  return Object.entries(query.where ?? {}).flatMap(([field, condition]) =>
    typeof condition === 'object' && condition !== null
      ? Object.entries(condition)
          .filter(([, value]) => value !== undefined)
          .map(([op, value]) => ({ field, op: op as Op, value: value as Scalar }))
      : [{ field, op: 'eq' as const, value: condition }],
  );
}

export function sortOf(query: FindQuery): Sort {
  return query.sort ?? { field: 'id', direction: 'asc' };
}

/**
 * The indexes each collection declared. A query may only name fields of a declared index, so it
 * can never quietly become a scan of the whole collection. A process that did not call
 * ensureCollection itself (an API beside a separate projector) learns them from the database.
 */
export class IndexCatalog {
  private readonly declared = new Map<string, Map<string, readonly string[]>>();

  declare(spec: CollectionSpec): void {
    checkName('collection', spec.name);
    const indexes = this.declared.get(spec.name) ?? new Map<string, readonly string[]>();
    for (const fields of spec.indexes) {
      if (fields.length === 0) throw new Error(`empty index declared on ${spec.name}`);
      for (const field of fields) {
        checkName('field', field);
        if (field === 'id') throw new Error(`id is always indexed; do not declare it (${spec.name})`);
      }
      indexes.set(fields.join(','), [...fields]);
    }
    this.declared.set(spec.name, indexes);
  }

  indexes(collection: string): (readonly string[])[] {
    return [...(this.declared.get(collection)?.values() ?? [])];
  }

  /**
   * Throws unless the query is well formed and every field it names is id or part of an index,
   * asking `stored` for the collection's indexes once when this process does not know them.
   */
  async check(collection: string, query: FindQuery, stored: () => Promise<(readonly string[])[]>): Promise<void> {
    checkName('collection', collection);
    if (!Number.isInteger(query.limit) || query.limit < 1) throw new Error(`limit must be a positive integer`);
    const sort = sortOf(query);
    if (sort.direction !== 'asc' && sort.direction !== 'desc') throw new Error(`bad sort direction ${sort.direction}`);
    const found = conditions(query);
    for (const { field, op, value } of found) {
      if (!OPS.has(op) || !isScalar(value)) throw new Error(`bad condition on ${collection}.${field}`);
    }
    const named = Object.keys(query.where ?? {});
    const empty = named.find((field) => !found.some((c) => c.field === field));
    if (empty !== undefined) throw new Error(`empty range on ${collection}.${empty}`);
    const fields = [...named, sort.field].filter((field) => field !== 'id');
    fields.forEach((field) => checkName('field', field));

    const uncovered = () => fields.find((field) => !this.indexes(collection).some((index) => index.includes(field)));
    if (uncovered() !== undefined) this.declare({ name: collection, indexes: await stored() });
    const field = uncovered();
    if (field !== undefined) {
      throw new Error(`${collection}.${field} is not covered by a declared index; declare one in ensureCollection`);
    }
  }
}

/** The sort field and direction travel in the cursor so it cannot be replayed on another order. */
export function encodeCursor(sort: Sort, last: { readonly id: string; readonly [field: string]: unknown }): string {
  const value = sort.field === 'id' ? last.id : (last[sort.field] ?? null);
  return Buffer.from(JSON.stringify({ f: sort.field, d: sort.direction, v: value, id: last.id })).toString('base64url');
}

export function decodeCursor(cursor: string, sort: Sort): After {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidCursor();
  const { f, d, v, id } = parsed as Record<string, unknown>;
  if (f !== sort.field || d !== sort.direction || typeof id !== 'string' || !(v === null || isScalar(v))) {
    throw new InvalidCursor();
  }
  return { value: v as SortValue, id };
}
