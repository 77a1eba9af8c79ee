import { randomUUID } from 'node:crypto';
import { Container } from 'inversify';
import { Decider } from '../../src/shared/domain/decider';
import { DomainError } from '../../src/shared/domain/errors';
import { CommandHandler } from '../../src/shared/command/handler';
import { loadConfig } from '../../src/shared/config';
import { TOKENS } from '../../src/shared/container/tokens';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { InProcessLockService } from '../../src/shared/lock/memory';

type Add = { type: 'Add'; data: { by: number; max: number } };
type Added = { type: 'Added'; data: { by: number; total: number } };

/** A counter that refuses to pass `max`: enough to see atomicity and conflicts. */
const counter: Decider<Add, Added, number> = {
  category: 'counter',
  initialState: 0,
  decide: ({ data }, total) => {
    if (total + data.by > data.max) throw new DomainError('STOCK_LIMIT', 'conflict', 'full');
    return [{ type: 'Added', data: { by: data.by, total: total + data.by } }];
  },
  evolve: (_total, event) => event.data.total,
};

const add = (by: number, max = 1_000_000): Add => ({ type: 'Add', data: { by, max } });

describe('command handler: multi-stream units of work', () => {
  let store: SqliteEventStore;
  let handler: CommandHandler;
  const context = { metadata: { actorId: 'test' } };

  beforeEach(() => {
    store = new SqliteEventStore(':memory:');
    const container = new Container();
    container.bind(TOKENS.EventStore).toConstantValue(store);
    container.bind(TOKENS.Locks).toConstantValue(new InProcessLockService());
    container.bind(TOKENS.Config).toConstantValue(loadConfig({ COMMAND_MAX_ATTEMPTS: '50' }));
    container.bind(CommandHandler).toSelf();
    handler = container.get(CommandHandler);
  });
  afterEach(() => store.close());

  it('writes every stream of a unit in one append, or none when one decision fails', async () => {
    await handler.handle(counter, 'b', add(5, 5), context);
    await expect(
      handler.transact(
        [],
        async (unit) => {
          await unit.decide(counter, 'a', add(1));
          await unit.decide(counter, 'b', add(1, 5));
        },
        context,
      ),
    ).rejects.toMatchObject({ code: 'STOCK_LIMIT' });
    expect(await store.readStream('counter-a')).toEqual([]);

    const done = await handler.transact(
      [],
      async (unit) => {
        await unit.decide(counter, 'a', add(2));
        await unit.decide(counter, 'a', add(3));
        await unit.decide(counter, 'c', add(1));
        return unit.state(counter, 'a');
      },
      context,
    );
    expect(done.result).toBe(5);
    const a = await store.readStream('counter-a');
    const c = await store.readStream('counter-c');
    expect(a.map((e) => e.data)).toEqual([{ by: 2, total: 2 }, { by: 3, total: 5 }]);
    const positions = [...a, ...c].map((e) => e.position).sort();
    expect(done.position).toBe(positions[2]);
    expect(Number(positions[2]) - Number(positions[0])).toBe(2);
  });

  it('keeps units atomic under real contention: both counters always move together', async () => {
    // No lock keys: every unit races optimistically, so conflicts and retries really happen.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, () =>
        handler.transact(
          [],
          async (unit) => {
            await unit.decide(counter, 'x', add(1));
            await unit.decide(counter, 'y', add(1));
          },
          context,
        ),
      ),
    );
    const succeeded = outcomes.filter((o) => o.status === 'fulfilled').length;
    outcomes
      .filter((o): o is PromiseRejectedResult => o.status === 'rejected')
      .forEach((o) => expect(o.reason).toMatchObject({ code: 'CONCURRENCY_CONFLICT' }));
    expect(succeeded).toBeGreaterThan(0);
    expect(await store.readStream('counter-x')).toHaveLength(succeeded);
    expect(await store.readStream('counter-y')).toHaveLength(succeeded);
  });

  it('never writes a unit twice for one id seed, even when it would decide differently now', async () => {
    const seeded = { ...context, idSeed: 'request-1' };
    const first = await handler.transact([], (unit) => unit.decide(counter, 'z', add(4)), seeded);
    const again = await handler.transact([], (unit) => unit.decide(counter, 'z', add(4)), seeded);
    expect(again.duplicate).toBe(true);
    expect(again.position).toBe(first.position);
    expect(await store.readStream('counter-z')).toHaveLength(1);
    const handled = await handler.handle(counter, 'z', add(4), seeded);
    expect(handled.events).toEqual([]);
    expect(handled.state).toBe(4);
  });

  it('never writes a request twice even where the store only knows event ids at the expected revision', async () => {
    // Like KurrentDB: an id seen before is not recognised once the stream has moved on.
    const forgetful = Object.create(store) as SqliteEventStore;
    forgetful.append = (writes) =>
      store.append(writes.map((w) => (w.stream.startsWith('request-') ? w : { ...w, events: w.events.map((e) => ({ ...e, id: randomUUID() })) })));
    const container = new Container();
    container.bind(TOKENS.EventStore).toConstantValue(forgetful);
    container.bind(TOKENS.Locks).toConstantValue(new InProcessLockService());
    container.bind(TOKENS.Config).toConstantValue(loadConfig({}));
    container.bind(CommandHandler).toSelf();
    const forgetfulHandler = container.get(CommandHandler);

    const seeded = { ...context, idSeed: 'request-2' };
    const first = await forgetfulHandler.transact([], (unit) => unit.decide(counter, 'k', add(4)), seeded);
    await forgetfulHandler.handle(counter, 'k', add(1), context);
    const retried = await forgetfulHandler.transact([], (unit) => unit.decide(counter, 'k', add(4)), seeded);
    expect(retried.duplicate).toBe(true);
    expect(retried.position).toBe(first.position);
    expect((await store.readStream('counter-k')).map((e) => e.data)).toEqual([{ by: 4, total: 4 }, { by: 1, total: 5 }]);
  });

  it('serialises commands on one stream through its lock, so none of them needs a retry', async () => {
    const appends = jest.spyOn(store, 'append');
    await Promise.all(Array.from({ length: 100 }, () => handler.handle(counter, 'hot', add(1), context)));
    expect(appends).toHaveBeenCalledTimes(100);
    expect((await store.readStream('counter-hot')).at(-1)!.data).toEqual({ by: 1, total: 100 });
  });

  it('takes the shared lock only once another writer has caused a conflict', async () => {
    const sharedLocks = new InProcessLockService();
    const taken = jest.spyOn(sharedLocks, 'withLock');
    const instance = () => {
      const container = new Container();
      container.bind(TOKENS.EventStore).toConstantValue(store);
      container.bind(TOKENS.Locks).toConstantValue(sharedLocks);
      container.bind(TOKENS.Config).toConstantValue(loadConfig({}));
      container.bind(CommandHandler).toSelf();
      return container.get(CommandHandler);
    };
    const [a, b] = [instance(), instance()];
    await a.handle(counter, 'x', add(1), context);
    await Promise.all(Array.from({ length: 20 }, () => a.handle(counter, 'x', add(1), context)));
    expect(taken).not.toHaveBeenCalled();

    // b writes between a's decision and a's append: a's first attempt conflicts, the retry queues on the shared lock.
    let attempts = 0;
    const after = await a.transact(
      ['counter-x'],
      async (unit) => {
        await unit.decide(counter, 'x', add(1));
        if (++attempts === 1) await b.handle(counter, 'x', add(1), context);
        return unit.state(counter, 'x');
      },
      context,
    );
    expect([attempts, after.result]).toEqual([2, 23]);
    expect(taken.mock.calls.map(([key]) => key)).toEqual(['counter-x']);
  });
});
