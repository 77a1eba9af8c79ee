/**
 * The read-model document port's contract: every adapter must pass it unchanged.
 * Collection and projection names carry a random suffix so a shared server can be reused.
 */
import { randomUUID } from 'node:crypto';
import { Doc, DocumentStore, DocWrite, FindQuery, InvalidCursor, Page } from '../../src/shared/documents/port';

interface Order extends Doc {
  readonly userId: string;
  readonly occurredAt?: number;
  readonly status?: string;
  readonly total?: number;
  readonly paid?: boolean;
}

const upsert = (collection: string, doc: Doc): DocWrite => ({ kind: 'upsert', collection, doc });
const del = (collection: string, id: string): DocWrite => ({ kind: 'delete', collection, id });
const pad = (n: number) => String(n).padStart(4, '0');
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The order both adapters promise: missing values first, then the value, ties by id. */
function expectedOrder(docs: readonly Order[], field: keyof Order, direction: 'asc' | 'desc'): string[] {
  const rank = (v: unknown) => (v === undefined || v === null ? 0 : 1);
  const cmp = (a: unknown, b: unknown) => rank(a) - rank(b) || (a === b ? 0 : (a as number) < (b as number) ? -1 : 1);
  const sign = direction === 'asc' ? 1 : -1;
  return [...docs].sort((a, b) => sign * (cmp(a[field], b[field]) || cmp(a.id, b.id))).map((d) => d.id);
}

export function documentStoreContract(make: () => Promise<DocumentStore>): void {
  let store: DocumentStore;
  let suffix: string;
  const c = (name: string) => `${name}_${suffix}`;

  beforeEach(async () => {
    store = await make();
    suffix = randomUUID().replace(/-/g, '');
  });
  afterEach(async () => store.close());

  async function orders(docs: readonly Order[]): Promise<string> {
    const name = c('orders');
    await store.ensureCollection({ name, indexes: [['userId', 'occurredAt'], ['status'], ['total'], ['paid']] });
    await store.write(docs.map((d) => upsert(name, d)));
    return name;
  }

  const ids = (page: Page<Doc>) => page.items.map((d) => d.id);

  /** Follows nextCursor to the end; `between` (say, more inserts) runs alongside each page read. */
  async function allPages(collection: string, query: Omit<FindQuery, 'cursor'>, between?: () => Promise<void>) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const [page]: [Page<Order>, void] = await Promise.all([
        store.find<Order>(collection, { ...query, cursor }),
        between?.() ?? Promise.resolve(),
      ]);
      expect(page.items.length).toBeLessThanOrEqual(query.limit);
      seen.push(...ids(page));
      cursor = page.nextCursor;
      pages++;
      if (cursor) expect(page.items).toHaveLength(query.limit);
    } while (cursor && pages < 1000);
    return { seen, pages };
  }

  it('gets, replaces whole documents, deletes, and reads many', async () => {
    const name = c('things');
    await store.ensureCollection({ name, indexes: [] });
    expect(await store.get(name, 'a')).toBeNull();
    await store.write([
      upsert(name, { id: 'a', n: 1, tags: ['x'], nested: { k: 'v' } }),
      upsert(name, { id: 'b', n: 2 }),
    ]);
    expect(await store.get(name, 'a')).toEqual({ id: 'a', n: 1, tags: ['x'], nested: { k: 'v' } });
    await store.write([upsert(name, { id: 'a', other: true })]);
    expect(await store.get(name, 'a')).toEqual({ id: 'a', other: true });
    const many = await store.getMany<Doc>(name, ['b', 'missing', 'a']);
    expect(many.map((d) => d.id).sort()).toEqual(['a', 'b']);
    expect(await store.getMany(name, [])).toEqual([]);
    await store.write([del(name, 'b'), del(name, 'never-existed')]);
    expect(await store.get(name, 'b')).toBeNull();
    await store.ping();
  });

  it('finds by equality and ranges on indexed fields, numbers compared as numbers', async () => {
    const totals = [-5, 1, 1.5, 2, 9, 10, 100];
    const name = await orders(
      totals.map((total, i) => ({
        id: `o${i}`,
        userId: i % 2 ? 'u1' : 'u2',
        occurredAt: i,
        status: ['a', 'b', 'c', 'd'][i % 4],
        total,
        paid: i % 3 === 0,
      })),
    );
    const find = async (where: FindQuery['where']) => ids(await store.find(name, { where, limit: 100 }));
    expect(await find({ userId: 'u1' })).toEqual(['o1', 'o3', 'o5']);
    expect(await find({ total: { gt: 9 } })).toEqual(['o5', 'o6']);
    expect(await find({ total: { gte: 1, lte: 2 } })).toEqual(['o1', 'o2', 'o3']);
    expect(await find({ total: { lt: 1.5 } })).toEqual(['o0', 'o1']);
    expect(await find({ status: { gte: 'b', lt: 'd' } })).toEqual(['o1', 'o2', 'o5', 'o6']);
    expect(await find({ paid: true })).toEqual(['o0', 'o3', 'o6']);
    expect(await find({ paid: false, userId: 'u2' })).toEqual(['o2', 'o4']);
    expect(await find({ userId: 'u1', occurredAt: { gt: 1, lte: 5 } })).toEqual(['o3', 'o5']);
    expect(await find({ id: { gte: 'o2', lt: 'o4' } })).toEqual(['o2', 'o3']);
    expect(await find({ userId: 'nobody' })).toEqual([]);
  });

  it('counts the documents an indexed filter matches, and refuses a filter no index covers', async () => {
    const name = await orders(['a', 'b', 'a', 'c', 'a'].map((status, i) => ({ id: `o${i}`, userId: `u${i % 2}`, occurredAt: i, status, total: i * 10 })));
    expect(await store.count(name, { status: 'a' })).toBe(3);
    expect(await store.count(name, { status: 'nothing' })).toBe(0);
    expect(await store.count(name, { userId: 'u1', occurredAt: { gte: 2 } })).toBe(1);
    expect(await store.count(name, { total: { gt: 10, lt: 40 } })).toBe(2);
    expect(await store.count(name)).toBe(5);
    await store.write([del(name, 'o0')]);
    expect(await store.count(name, { status: 'a' })).toBe(2);
    await expect(store.count(name, { unindexed: 'x' })).rejects.toThrow(/not covered by a declared index/);
  });

  it('sorts numbers, strings and booleans both ways, ties broken by id in the same direction', async () => {
    const docs: Order[] = Array.from({ length: 12 }, (_, i) => ({
      id: `o${pad((i * 7) % 12)}`,
      userId: 'u',
      occurredAt: i % 4,
      status: ['pending', 'paid', 'cancelled'][i % 3],
      total: [100, 9, 10, -1, 2.5, 9][i % 6],
      paid: i % 2 === 0,
    }));
    const name = await orders(docs);
    for (const field of ['occurredAt', 'status', 'total', 'paid', 'id'] as const) {
      for (const direction of ['asc', 'desc'] as const) {
        const page = await store.find(name, { sort: { field, direction }, limit: 100 });
        expect([field, direction, ids(page)]).toEqual([field, direction, expectedOrder(docs, field, direction)]);
      }
    }
    const byDefault = await store.find(name, { limit: 100 });
    expect(ids(byDefault)).toEqual(expectedOrder(docs, 'id', 'asc'));
  });

  it('pages with a cursor: every document exactly once, in order, and no cursor after the last page', async () => {
    const docs: Order[] = Array.from({ length: 23 }, (_, i) => ({
      id: `o${pad(i)}`,
      userId: i % 5 === 0 ? 'other' : 'u1',
      occurredAt: i % 6,
    }));
    const name = await orders(docs);
    const mine = docs.filter((d) => d.userId === 'u1');
    for (const limit of [1, 3, 6, 18, 25]) {
      for (const direction of ['asc', 'desc'] as const) {
        const sort = { field: 'occurredAt', direction };
        const { seen, pages } = await allPages(name, { where: { userId: 'u1' }, sort, limit });
        expect(seen).toEqual(expectedOrder(mine, 'occurredAt', direction));
        expect(pages).toBe(Math.max(1, Math.ceil(mine.length / limit)));
      }
    }
    const exact = await store.find(name, { where: { userId: 'other' }, limit: 5 });
    expect(exact.items).toHaveLength(5);
    expect(exact.nextCursor).toBeNull();
    const empty = await store.find(name, { where: { userId: 'nobody' }, limit: 5 });
    expect(empty).toEqual({ items: [], nextCursor: null });
  });

  it('puts documents without the sort field first ascending and last descending, and pages through them', async () => {
    const docs: Order[] = Array.from({ length: 15 }, (_, i) => ({
      id: `o${pad(i)}`,
      userId: 'u1',
      ...(i % 3 === 0 ? {} : { occurredAt: i % 4 }),
    }));
    const name = await orders(docs);
    for (const limit of [1, 2, 4, 15]) {
      for (const direction of ['asc', 'desc'] as const) {
        const sort = { field: 'occurredAt', direction };
        const { seen } = await allPages(name, { where: { userId: 'u1' }, sort, limit });
        expect(seen).toEqual(expectedOrder(docs, 'occurredAt', direction));
      }
    }
  });

  it('pages over 250 documents while others are inserted and returns each one that existed exactly once', async () => {
    const docs: Order[] = Array.from({ length: 250 }, (_, i) => ({
      id: `o${pad(i)}`,
      userId: 'u1',
      occurredAt: i % 37,
    }));
    const name = await orders(docs);
    let inserted = 0;
    const insertSome = async () => {
      const fresh = Array.from({ length: 3 }, (_, k) => ({
        id: `n${randomUUID()}`,
        userId: k === 2 ? 'u2' : 'u1',
        occurredAt: (inserted * 11 + k * 13) % 40,
      }));
      inserted++;
      await store.write(fresh.map((d) => upsert(name, d)));
    };
    for (const direction of ['asc', 'desc'] as const) {
      const { seen } = await allPages(
        name,
        { where: { userId: 'u1' }, sort: { field: 'occurredAt', direction }, limit: 20 },
        insertSome,
      );
      expect(new Set(seen).size).toBe(seen.length);
      const old = seen.filter((id) => id.startsWith('o'));
      expect(old).toEqual(expectedOrder(docs, 'occurredAt', direction));
    }
    expect(inserted).toBeGreaterThan(20);
  });

  it('refuses a cursor it did not issue, or one issued for another order', async () => {
    const name = await orders(Array.from({ length: 5 }, (_, i) => ({ id: `o${i}`, userId: 'u1', occurredAt: i })));
    const sort = { field: 'occurredAt', direction: 'asc' } as const;
    const first = await store.find(name, { sort, limit: 2 });
    expect(first.nextCursor).toEqual(expect.any(String));
    const forged = [
      'not a cursor!',
      b64('just a string'),
      b64({}),
      b64(null),
      b64({ f: 'occurredAt', d: 'asc', v: { $gt: 1 }, id: 'o1' }),
      b64({ f: 'occurredAt', d: 'asc', v: 1 }),
      b64({ f: 'occurredAt', d: 'asc', v: 1, id: 7 }),
    ];
    for (const cursor of forged) {
      await expect(store.find(name, { sort, limit: 2, cursor })).rejects.toBeInstanceOf(InvalidCursor);
    }
    const otherOrder = store.find(name, { sort: { ...sort, direction: 'desc' }, limit: 2, cursor: first.nextCursor });
    await expect(otherOrder).rejects.toBeInstanceOf(InvalidCursor);
    const byStatus = { field: 'status', direction: 'asc' } as const;
    const otherField = store.find(name, { sort: byStatus, limit: 2, cursor: first.nextCursor });
    await expect(otherField).rejects.toBeInstanceOf(InvalidCursor);
    const second = await store.find(name, { sort, limit: 2, cursor: first.nextCursor });
    expect(ids(second)).toEqual(['o2', 'o3']);
  });

  it('refuses fields no declared index covers, and names that are not plain identifiers', async () => {
    const name = await orders([{ id: 'o1', userId: 'u1', occurredAt: 1 }]);
    await expect(store.find(name, { where: { secret: 'x' }, limit: 1 })).rejects.toThrow(/index/);
    await expect(store.find(name, { sort: { field: 'secret', direction: 'asc' }, limit: 1 })).rejects.toThrow(/index/);
    await expect(store.find(c('undeclared'), { where: { userId: 'u1' }, limit: 1 })).rejects.toThrow(/index/);
    await expect(store.find(name, { where: { 'userId) OR (1': 1 }, limit: 1 })).rejects.toThrow();
    await expect(store.find('bad name', { limit: 1 })).rejects.toThrow();
    await expect(store.find(name, { limit: 0 })).rejects.toThrow();
    // id is always indexed, in where and in sort.
    const byId = await store.find(name, { where: { id: 'o1' }, sort: { field: 'id', direction: 'desc' }, limit: 1 });
    expect(ids(byId)).toEqual(['o1']);
    await expect(store.ensureCollection({ name: 'bad-name', indexes: [] })).rejects.toThrow();
    await expect(store.ensureCollection({ name: c('x'), indexes: [["a'b"]] })).rejects.toThrow();
    await expect(store.ensureCollection({ name: c('x'), indexes: [['a.b']] })).rejects.toThrow();
  });

  it('ensureCollection is idempotent and may add indexes later', async () => {
    const name = c('grow');
    await store.ensureCollection({ name, indexes: [['a']] });
    await store.ensureCollection({ name, indexes: [['a']] });
    await store.write([upsert(name, { id: '1', a: 1, b: 2 })]);
    await expect(store.find(name, { where: { b: 2 }, limit: 1 })).rejects.toThrow(/index/);
    await store.ensureCollection({ name, indexes: [['a'], ['b']] });
    expect(ids(await store.find(name, { where: { b: 2 }, limit: 1 }))).toEqual(['1']);
  });

  it('getCheckpoint is null at first, then the position last written with documents', async () => {
    const projection = c('projection');
    expect(await store.getCheckpoint(projection)).toBeNull();
    const name = c('things');
    await store.write([upsert(name, { id: 'a' })], { projection, position: '42' });
    expect(await store.getCheckpoint(projection)).toBe('42');
    await store.write([], { projection, position: '43' });
    expect(await store.getCheckpoint(projection)).toBe('43');
    await store.write([upsert(name, { id: 'b' })]);
    expect(await store.getCheckpoint(projection)).toBe('43');
    expect(await store.getCheckpoint(c('another'))).toBeNull();
  });

  it('applies a batch and its checkpoint atomically: one bad write leaves nothing changed', async () => {
    const projection = c('projection');
    const name = c('things');
    const other = c('others');
    await store.write([upsert(name, { id: 'kept', v: 1 })], { projection, position: '1' });
    const badBatches: DocWrite[][] = [
      [upsert(name, { id: 'new', v: 1 }), del(name, 'kept'), upsert(other, { id: 'x', big: 10n })],
      [upsert(name, { id: 'new', v: 1 }), upsert(name, { id: 'kept', v: 2 }), upsert('bad-name', { id: 'y' })],
      [upsert(other, { id: 'x' }), del(name, 'kept'), upsert(name, { id: '' })],
    ];
    for (const batch of badBatches) {
      await expect(store.write(batch, { projection, position: '2' })).rejects.toThrow();
      expect(await store.get(name, 'kept')).toEqual({ id: 'kept', v: 1 });
      expect(await store.get(name, 'new')).toBeNull();
      expect(await store.get(other, 'x')).toBeNull();
      expect(await store.getCheckpoint(projection)).toBe('1');
    }
    const good = [upsert(name, { id: 'new', v: 1 }), del(name, 'kept'), upsert(other, { id: 'x' })];
    await store.write(good, { projection, position: '2' });
    expect(await store.get(name, 'kept')).toBeNull();
    expect(await store.get(name, 'new')).toEqual({ id: 'new', v: 1 });
    expect(await store.get(other, 'x')).toEqual({ id: 'x' });
    expect(await store.getCheckpoint(projection)).toBe('2');
  });

  it('reset clears the named collections and the checkpoint, and nothing else', async () => {
    const projection = c('projection');
    const [a, b, kept] = [c('a'), c('b'), c('kept')];
    await store.ensureCollection({ name: a, indexes: [['n']] });
    await store.write([upsert(a, { id: '1', n: 1 }), upsert(b, { id: '1' }), upsert(kept, { id: '1' })], {
      projection,
      position: '9',
    });
    await store.write([], { projection: c('other'), position: '5' });
    await store.reset(projection, [a, b]);
    expect(await store.get(a, '1')).toBeNull();
    expect(await store.get(b, '1')).toBeNull();
    expect(await store.find(a, { where: { n: 1 }, limit: 10 })).toEqual({ items: [], nextCursor: null });
    expect(await store.getCheckpoint(projection)).toBeNull();
    expect(await store.get(kept, '1')).toEqual({ id: '1' });
    expect(await store.getCheckpoint(c('other'))).toBe('5');
  });

  it('keeps collections apart: the same id in two collections, finds and deletes in one only', async () => {
    const [a, b] = [c('a'), c('b')];
    for (const name of [a, b]) await store.ensureCollection({ name, indexes: [['userId']] });
    await store.write([upsert(a, { id: '1', userId: 'u', in: 'a' }), upsert(b, { id: '1', userId: 'u', in: 'b' })]);
    await store.write([upsert(b, { id: '2', userId: 'u', in: 'b' })]);
    expect(await store.get(a, '1')).toEqual({ id: '1', userId: 'u', in: 'a' });
    const inA = await store.find(a, { where: { userId: 'u' }, limit: 10 });
    expect(inA.items).toEqual([{ id: '1', userId: 'u', in: 'a' }]);
    expect(ids(await store.find(b, { where: { userId: 'u' }, limit: 10 }))).toEqual(['1', '2']);
    expect((await store.getMany(a, ['1', '2'])).map((d) => d.id)).toEqual(['1']);
    await store.write([del(a, '1')]);
    expect(await store.get(a, '1')).toBeNull();
    expect(await store.get(b, '1')).toEqual({ id: '1', userId: 'u', in: 'b' });
  });

  it('writes a checkpoint with an expected previous one only if it has not moved', async () => {
    const name = c('cas');
    const projection = c('cas-projection');
    await store.ensureCollection({ name, indexes: [] });
    await store.write([upsert(name, { id: '1', v: 1 })], { projection, position: '5', previous: null });
    await expect(
      store.write([upsert(name, { id: '1', v: 2 })], { projection, position: '9', previous: null }),
    ).rejects.toMatchObject({ name: 'CheckpointMoved', actual: '5' });
    expect(await store.get(name, '1')).toEqual({ id: '1', v: 1 });
    expect(await store.getCheckpoint(projection)).toBe('5');
    await store.write([upsert(name, { id: '1', v: 3 })], { projection, position: '9', previous: '5' });
    expect(await store.get(name, '1')).toEqual({ id: '1', v: 3 });
  });

  it('refuses a write fenced by an older lease token once a newer one has written, also after a reset', async () => {
    const name = c('fenced');
    const projection = c('fenced-projection');
    await store.ensureCollection({ name, indexes: [] });
    await store.write([upsert(name, { id: '1', v: 1 })], { projection, position: '1', previous: null, fence: 3 });
    await store.write([upsert(name, { id: '1', v: 2 })], { projection, position: '2', previous: '1', fence: 3 });
    await store.write([upsert(name, { id: '1', v: 3 })], { projection, position: '3', previous: '2', fence: 7 });
    // The earlier holder, with the checkpoint it expects: still refused, and nothing of it written.
    await expect(store.write([upsert(name, { id: '1', v: 4 })], { projection, position: '4', previous: '3', fence: 3 })).rejects.toMatchObject({
      name: 'LeaseFenced',
      fence: 3,
      current: 7,
    });
    expect(await store.get(name, '1')).toEqual({ id: '1', v: 3 });
    expect(await store.getCheckpoint(projection)).toBe('3');
    // Writers without a lease (a rebuild, a CLI replay) are not fenced and keep the fence.
    await store.write([], { projection, position: '4', previous: '3' });
    await store.reset(projection, [name]);
    expect(await store.getCheckpoint(projection)).toBeNull();
    await expect(store.write([], { projection, position: '5', previous: null, fence: 6 })).rejects.toMatchObject({ name: 'LeaseFenced' });
    await store.write([], { projection, position: '5', previous: null, fence: 8 });
    expect(await store.getCheckpoint(projection)).toBe('5');
  });
}
