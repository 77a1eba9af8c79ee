import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandHandler } from '../../src/shared/command/handler';
import { loadConfig } from '../../src/shared/config';
import { fold } from '../../src/shared/domain/decider';
import { PersistentMap } from '../../src/shared/domain/persistent-map';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { InProcessLockService } from '../../src/shared/lock/memory';
import { decodeState, encodeState, fingerprintOf } from '../../src/shared/snapshots/codec';
import { SqliteSnapshotStore } from '../../src/shared/snapshots/sqlite';
import { AggregateSnapshots } from '../../src/shared/snapshots/snapshots';
import { couponDecider } from '../../src/write/coupon/decider';
import { CouponEvent } from '../../src/write/coupon/events';
import { productDecider } from '../../src/write/product/decider';
import { ProductEvent } from '../../src/write/product/events';

const now = '2026-12-04T10:00:00.000Z';
const metadata = { actorId: 'test' };
const EVERY = 10;

const productEvents = (productId: string, orders: number, stock = 1_000): ProductEvent[] => [
  { type: 'ProductRegistered', data: { productId, name: 'Mug', price: 100, stock, occurredAt: now } },
  ...Array.from({ length: orders }, (_, i): ProductEvent => ({
    type: 'StockDecreased',
    data: { productId, orderId: `order-${i}`, quantity: 1 + (i % 3), stockAfter: stock - i, occurredAt: now },
  })),
];

/** States are compared as plain data: a PersistentMap as a Map of its entries. */
const plain = (value: unknown): unknown => {
  if (value instanceof PersistentMap) return new Map([...value.entries()].map(([k, v]) => [k, plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

describe('the snapshot codec', () => {
  it('gives back a product whose orders are a map, with orders restored since', () => {
    const events: ProductEvent[] = [
      ...productEvents('p', 500),
      { type: 'StockRestored', data: { productId: 'p', orderId: 'order-7', quantity: 2, stockAfter: 10, occurredAt: now } },
    ];
    const state = fold(productDecider, productDecider.initialState, events);
    const decoded = decodeState<typeof state>(encodeState(state));
    expect(plain(decoded)).toEqual(plain(state));
    expect(decoded.takenBy.get('order-7')).toBe(0);
    expect(decoded.takenBy.size).toBe(500);
  });

  it('gives back a coupon whose holders are objects, and keeps folding on it', () => {
    const couponId = 'c1';
    const created: CouponEvent = {
      type: 'CouponCreated',
      data: {
        couponId,
        name: 'Ten off',
        discountType: 'FIXED',
        discountValue: 10,
        minOrderAmount: 0,
        maxDiscountAmount: null,
        totalQuantity: 100,
        issueStartsAt: null,
        issueEndsAt: null,
        validUntil: null,
        validDays: null,
        occurredAt: now,
      } as never,
    };
    const issued = (userId: string, n: number): CouponEvent => ({
      type: 'CouponIssued',
      data: { couponId, userCouponId: `${couponId}:${userId}`, userId, validUntil: null, issuedQuantity: n, occurredAt: now },
    });
    const used: CouponEvent = { type: 'CouponUsed', data: { couponId, userCouponId: `${couponId}:u2`, userId: 'u2', orderId: 'o1', occurredAt: now } };
    const state = fold(couponDecider, couponDecider.initialState, [created, issued('u1', 1), issued('u2', 2), used]);
    const decoded = decodeState<typeof state>(encodeState(state));
    expect(plain(decoded)).toEqual(plain(state));
    const more = [issued('u3', 3)];
    expect(plain(fold(couponDecider, decoded, more))).toEqual(plain(fold(couponDecider, state, more)));
  });

  it('refuses bytes that are not an encoded state', () => {
    expect(() => decodeState(Buffer.from('{"a":1}'))).toThrow();
  });

  it('fingerprints a decider by how it folds', () => {
    const changed: typeof productDecider = { ...productDecider, evolve: (state) => state };
    const bumped: typeof productDecider = { ...productDecider, stateVersion: 2 };
    const prints = new Set([productDecider, changed, bumped].map((d) => fingerprintOf(d as never)));
    expect(prints.size).toBe(3);
    expect(fingerprintOf({ ...productDecider } as never)).toBe(fingerprintOf(productDecider as never));
  });
});

describe('CommandHandler with snapshots', () => {
  let dir: string;
  let store: SqliteEventStore;
  let snapshotStore: SqliteSnapshotStore;
  let snapshots: AggregateSnapshots;
  let errors: unknown[];
  const config = () => loadConfig({ DATA_DIR: dir });

  const restart = async () => {
    await snapshots.close();
    snapshotStore = new SqliteSnapshotStore(join(dir, 'snapshots.db'));
    snapshots = new AggregateSnapshots(snapshotStore, EVERY, (error) => errors.push(error));
    return new CommandHandler(store, new InProcessLockService(), config(), snapshots);
  };
  const decrease = (handler: CommandHandler, productId: string, orderId: string) =>
    handler.handle(productDecider, productId, { type: 'DecreaseStock', data: { productId, orderId, quantity: 1, now } }, { metadata });
  const register = (handler: CommandHandler, productId: string) =>
    handler.handle(
      productDecider,
      productId,
      { type: 'RegisterProduct', data: { productId, name: 'Mug', price: 100, stock: 1_000, now, limits: { maxPrice: 1e9, maxStockPerRequest: 1e6 } } },
      { metadata },
    );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-snapshots-'));
    store = new SqliteEventStore(join(dir, 'events.db'));
    errors = [];
    snapshotStore = new SqliteSnapshotStore(join(dir, 'snapshots.db'));
    snapshots = new AggregateSnapshots(snapshotStore, EVERY, (error) => errors.push(error));
  });
  afterEach(async () => {
    await snapshots.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`snapshots a stream every ${EVERY} events and starts a cold load from the newest`, async () => {
    const handler = new CommandHandler(store, new InProcessLockService(), config(), snapshots);
    const productId = randomUUID();
    await register(handler, productId);
    for (let i = 0; i < 25; i += 1) await decrease(handler, productId, `order-${i}`);
    const restarted = await restart();
    expect((await snapshotStore.read(`product-${productId}`))?.revision).toBe(19n);

    const reads = jest.spyOn(store, 'readStream');
    const loaded = await restarted.load(productDecider, `product-${productId}`);
    // The first EVERY events tell a long stream; then only what follows the snapshot is read.
    expect(reads.mock.calls).toEqual([
      [`product-${productId}`, 0n, EVERY],
      [`product-${productId}`, 19n],
    ]);
    const events = await store.readStream(`product-${productId}`);
    const folded = fold(productDecider, productDecider.initialState, events as never);
    expect(plain(loaded.state)).toEqual(plain(folded));
    expect(loaded.revision).toBe(25n);
    expect(loaded.position).toBe(events[events.length - 1].position);
    expect(errors).toEqual([]);
  });

  it('ignores and drops a snapshot that disagrees with the events (another log under the same name)', async () => {
    const productId = randomUUID();
    const stream = `product-${productId}`;
    const history = productEvents(productId, 30);
    await store.append([{ stream, expectedRevision: 'no_stream', events: history.map((e) => ({ id: randomUUID(), type: e.type, data: e.data })) }]);
    // A snapshot of a different history at revision 20: its stock and orders are not this log's.
    const other = fold(productDecider, productDecider.initialState, productEvents(productId, 20, 5));
    await snapshotStore.write({ stream, fingerprint: fingerprintOf(productDecider as never), revision: 20n, eventId: randomUUID(), state: encodeState(other) });

    const loaded = await new CommandHandler(store, new InProcessLockService(), config(), snapshots).load(productDecider, stream);
    expect(plain(loaded.state)).toEqual(plain(fold(productDecider, productDecider.initialState, history)));
    // The disagreeing snapshot is gone, replaced by one of the fold this log gave.
    await restart();
    const [last] = await store.readStream(stream, 30n);
    const kept = await snapshotStore.read(stream);
    expect(kept).toMatchObject({ revision: 30n, eventId: last.id });
    expect(plain(decodeState(kept!.state))).toEqual(plain(loaded.state));
  });

  it('ignores a snapshot past the end of the log, and one written by another version of the decider', async () => {
    const productId = randomUUID();
    const stream = `product-${productId}`;
    const history = productEvents(productId, EVERY + 2);
    await store.append([{ stream, expectedRevision: 'no_stream', events: history.map((e) => ({ id: randomUUID(), type: e.type, data: e.data })) }]);
    const wrong = encodeState({ ...productDecider.initialState, exists: true, stock: -1 });
    const handler = () => new CommandHandler(store, new InProcessLockService(), config(), snapshots);
    const folded = fold(productDecider, productDecider.initialState, history).stock;

    await snapshotStore.write({ stream, fingerprint: fingerprintOf(productDecider as never), revision: 50n, eventId: randomUUID(), state: wrong });
    expect((await handler().load(productDecider, stream)).state.stock).toBe(folded);

    const [last] = await store.readStream(stream, BigInt(EVERY + 2));
    await snapshotStore.write({ stream, fingerprint: 'an older decider', revision: BigInt(EVERY + 2), eventId: last.id, state: wrong });
    expect((await handler().load(productDecider, stream)).state.stock).toBe(folded);
  });

  it('folds the log when a snapshot cannot be decoded, and says so', async () => {
    const productId = randomUUID();
    const stream = `product-${productId}`;
    const history = productEvents(productId, EVERY + 2);
    await store.append([{ stream, expectedRevision: 'no_stream', events: history.map((e) => ({ id: randomUUID(), type: e.type, data: e.data })) }]);
    const [last] = await store.readStream(stream, BigInt(EVERY + 2));
    await snapshotStore.write({ stream, fingerprint: fingerprintOf(productDecider as never), revision: BigInt(EVERY + 2), eventId: last.id, state: Buffer.from('garbage') });
    const loaded = await new CommandHandler(store, new InProcessLockService(), config(), snapshots).load(productDecider, stream);
    expect(loaded.state.takenBy.size).toBe(EVERY + 2);
    expect(errors).toHaveLength(1);
  });

  it('does not look for a snapshot of a stream too short to have one', async () => {
    const productId = randomUUID();
    const stream = `product-${productId}`;
    const history = productEvents(productId, 3);
    await store.append([{ stream, expectedRevision: 'no_stream', events: history.map((e) => ({ id: randomUUID(), type: e.type, data: e.data })) }]);
    const looked = jest.spyOn(snapshotStore, 'read');
    const loaded = await new CommandHandler(store, new InProcessLockService(), config(), snapshots).load(productDecider, stream);
    expect(loaded.state.takenBy.size).toBe(3);
    expect(looked).not.toHaveBeenCalled();
  });

  it('takes no snapshot of a stream shorter than SNAPSHOT_EVERY', async () => {
    const handler = new CommandHandler(store, new InProcessLockService(), config(), snapshots);
    const productId = randomUUID();
    await register(handler, productId);
    for (let i = 0; i < EVERY - 2; i += 1) await decrease(handler, productId, `order-${i}`);
    await restart();
    expect(await snapshotStore.read(`product-${productId}`)).toBeNull();
  });
});
