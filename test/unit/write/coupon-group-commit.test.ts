import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupCommit } from '../../../src/shared/command/group-commit';
import { CommandHandler, Loaded } from '../../../src/shared/command/handler';
import { loadConfig } from '../../../src/shared/config';
import { DomainError } from '../../../src/shared/domain/errors';
import { ConcurrencyConflict, EventStore } from '../../../src/shared/eventstore/port';
import { SqliteEventStore } from '../../../src/shared/eventstore/sqlite';
import { InProcessLockService } from '../../../src/shared/lock/memory';
import { CouponCommand } from '../../../src/write/coupon/commands';
import { couponDecider, CouponState } from '../../../src/write/coupon/decider';
import { CouponEvent } from '../../../src/write/coupon/events';

const now = '2026-11-25T00:00:00.000Z';
const metadata = { actorId: 'test', role: 'customer' };
const issue = (couponId: string, userId: string): CouponCommand => ({ type: 'IssueCoupon', data: { couponId, userId, now } });
const codeOf = (result: PromiseSettledResult<unknown>) =>
  result.status === 'rejected' ? ((result.reason as DomainError).code ?? String(result.reason)) : 'ISSUED';
/** The group commit appends and nothing else (it loads through `load`). */
const appendOnly = (append: EventStore['append']) => ({ append }) as unknown as EventStore;
const tally = (results: PromiseSettledResult<unknown>[]) =>
  results.map(codeOf).reduce<Record<string, number>>((counts, code) => ({ ...counts, [code]: (counts[code] ?? 0) + 1 }), {});

describe('GroupCommit (over the coupon decider)', () => {
  let dir: string;
  let store: SqliteEventStore;
  let commands: CommandHandler;
  let couponId: string;
  let counter = 0;

  const groupCommit = (overrides: { store?: EventStore; load?: (stream: string) => Promise<Loaded<CouponState>>; maxAttempts?: number } = {}) =>
    new GroupCommit(couponDecider, {
      load: overrides.load ?? ((stream) => commands.load(couponDecider, stream)),
      store: overrides.store ?? store,
      maxAttempts: overrides.maxAttempts ?? 8,
    });

  async function createCoupon(totalQuantity: number) {
    couponId = `coupon${(counter += 1)}`;
    const terms = { name: 'Rush', discount: { type: 'FIXED' as const, amount: 100 }, minOrderAmount: 0, totalQuantity };
    const none = { issueStartsAt: null, issueEndsAt: null, validUntil: null, validDays: null };
    await commands.handle(couponDecider, couponId, { type: 'CreateCoupon', data: { couponId, ...terms, ...none, now } }, { metadata });
  }
  const issuedInLog = async () => (await store.readStream(`coupon-${couponId}`)).filter((e) => e.type === 'CouponIssued');

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-group-commit-'));
    store = new SqliteEventStore(join(dir, 'events.db'), { synchronous: 'NORMAL' });
    commands = new CommandHandler(store, new InProcessLockService(), loadConfig({ DATA_DIR: dir }));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => jest.restoreAllMocks());

  it('decides concurrent requests in turn and writes them in a few appends, each with its own answer', async () => {
    await createCoupon(50);
    const append = jest.spyOn(store, 'append');
    const group = groupCommit();
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => group.submit(couponId, issue(couponId, `u${i}`), { metadata: { actorId: `u${i}` } })),
    );
    expect(tally(results)).toEqual({ ISSUED: 50, COUPON_SOLD_OUT: 150 });
    // The first request goes alone, everyone who arrived meanwhile goes in the next batch.
    expect(append.mock.calls.length).toBeLessThanOrEqual(3);
    const log = await issuedInLog();
    expect(log).toHaveLength(50);
    expect(log.map((e) => e.revision)).toEqual(log.map((_, i) => BigInt(i + 1)));
    // Each request's events carry its own metadata.
    expect(new Set(log.map((e) => e.metadata.actorId)).size).toBe(50);

    const issued = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const positionOf = new Map(log.map((e) => [e.data.userId, e.position]));
    for (const handled of issued) {
      const [event] = handled.events as CouponEvent[];
      expect(event.type).toBe('CouponIssued');
      const { userId } = event.data as { userId: string };
      expect(handled.state.holders.has(userId)).toBe(true);
      // The batch's position: at or after the request's own event, so X-Consistent-With sees it.
      expect(handled.position! >= positionOf.get(userId)!).toBe(true);
    }
    // Within a batch each answer sees the requests decided before it.
    expect(new Set(issued.map((h) => h.revision)).size).toBe(50);
  });

  it('refuses the second of two requests of one user in one batch', async () => {
    await createCoupon(10);
    const group = groupCommit();
    const results = await Promise.allSettled([1, 2, 3].map(() => group.submit(couponId, issue(couponId, 'same'), { metadata })));
    expect(tally(results)).toEqual({ ISSUED: 1, COUPON_ALREADY_ISSUED: 2 });
  });

  it('decides the batch again when another writer got in first', async () => {
    await createCoupon(2);
    const other = groupCommit();
    let raced = false;
    const group = groupCommit({
      store: appendOnly(async (writes) => {
        // Another instance takes a coupon between our load and our append, once.
        if (!raced) {
          raced = true;
          await other.submit(couponId, issue(couponId, 'elsewhere'), { metadata });
        }
        return store.append(writes);
      }),
    });
    const results = await Promise.allSettled([group.submit(couponId, issue(couponId, 'a'), { metadata })]);
    expect(tally(results)).toEqual({ ISSUED: 1 });
    const late = await Promise.allSettled([group.submit(couponId, issue(couponId, 'b'), { metadata })]);
    expect(tally(late)).toEqual({ COUPON_SOLD_OUT: 1 });
    expect((await issuedInLog()).map((e) => e.data.userId)).toEqual(['elsewhere', 'a']);
  });

  it('gives up after maxAttempts conflicts with CONCURRENCY_CONFLICT for every request', async () => {
    await createCoupon(10);
    const append = jest.fn(async () => {
      throw new ConcurrencyConflict(`coupon-${couponId}`, 0n, 1n);
    });
    const group = groupCommit({ store: appendOnly(append), maxAttempts: 3 });
    const results = await Promise.allSettled(['a', 'b'].map((u) => group.submit(couponId, issue(couponId, u), { metadata })));
    expect(tally(results)).toEqual({ CONCURRENCY_CONFLICT: 2 });
    // Two batches (the first request goes alone), three attempts each.
    expect(append).toHaveBeenCalledTimes(6);
    expect(await issuedInLog()).toHaveLength(0);
  });

  it('fails every request of a batch whose append fails otherwise, and carries on with the next', async () => {
    await createCoupon(10);
    let failures = 1;
    const group = groupCommit({
      store: appendOnly(async (writes) => {
        if (failures-- > 0) throw new Error('disk full');
        return store.append(writes);
      }),
    });
    const first = await Promise.allSettled([group.submit(couponId, issue(couponId, 'a'), { metadata })]);
    expect(first[0]).toMatchObject({ status: 'rejected', reason: new Error('disk full') });
    const second = await Promise.allSettled([group.submit(couponId, issue(couponId, 'a'), { metadata })]);
    expect(tally(second)).toEqual({ ISSUED: 1 });
  });

  it('decides again on the log when the log already holds the batch (a decision on a stale state)', async () => {
    await createCoupon(10);
    const stream = `coupon-${couponId}`;
    const context = { idSeed: 'issue-a', metadata };
    const stale = await commands.load(couponDecider, stream);
    await groupCommit().submit(couponId, issue(couponId, 'a'), context);
    let served = false;
    const group = groupCommit({
      load: async (s) => {
        if (served) return commands.load(couponDecider, s);
        served = true;
        return stale;
      },
    });
    const results = await Promise.allSettled([group.submit(couponId, issue(couponId, 'a'), context)]);
    expect(tally(results)).toEqual({ COUPON_ALREADY_ISSUED: 1 });
    expect(await issuedInLog()).toHaveLength(1);
  });

  it('keeps streams apart', async () => {
    await createCoupon(1);
    const first = couponId;
    await createCoupon(1);
    const group = groupCommit();
    const results = await Promise.allSettled([first, couponId].map((id) => group.submit(id, issue(id, 'u'), { metadata })));
    expect(tally(results)).toEqual({ ISSUED: 2 });
  });
});
