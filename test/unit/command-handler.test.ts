import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandHandler } from '../../src/shared/command/handler';
import { loadConfig } from '../../src/shared/config';
import { Command, Decider, DomainEvent } from '../../src/shared/domain/decider';
import { InvalidAppend } from '../../src/shared/eventstore/port';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { errorToProblem } from '../../src/shared/http/errors';
import { InProcessLockService } from '../../src/shared/lock/memory';

type Add = Command<'Add', { amount: number; eventType?: string }>;
/** A counter whose command may name its event type, so a test can hand the store a bad one. */
const counter: Decider<Add, DomainEvent<string, { amount: number }>, number> = {
  category: 'counter',
  initialState: 0,
  decide: (command) => [{ type: command.data.eventType ?? 'Added', data: { amount: command.data.amount } }],
  evolve: (state, event) => state + event.data.amount,
};
const metadata = { actorId: 'test' };

describe('CommandHandler over the event store port', () => {
  let dir: string;
  let store: SqliteEventStore;
  let commands: CommandHandler;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-handler-'));
    store = new SqliteEventStore(':memory:');
    commands = new CommandHandler(store, new InProcessLockService(), loadConfig({ DATA_DIR: dir }));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a retry that re-decided against newer state as a duplicate, writing nothing twice', async () => {
    const add = (amount: number, idSeed?: string) => commands.handle(counter, 'c', { type: 'Add', data: { amount } }, { idSeed, metadata });
    await add(1, 'key-1');
    await add(10);
    // Another handler (another instance) retries key-1: its state is newer, its guard the same.
    const other = new CommandHandler(store, new InProcessLockService(), loadConfig({ DATA_DIR: dir }));
    const retried = await other.handle(counter, 'c', { type: 'Add', data: { amount: 1 } }, { idSeed: 'key-1', metadata });
    expect(retried.events).toEqual([]);
    expect(retried.state).toBe(11);
    expect((await store.readStream('counter-c')).map((e) => e.data)).toEqual([{ amount: 1 }, { amount: 10 }]);
  });

  it('treats an append the store refuses as invalid as our bug: no retry, a 500', async () => {
    const append = jest.spyOn(store, 'append');
    const refused = commands.handle(counter, 'c', { type: 'Add', data: { amount: 1, eventType: 'Not valid' } }, { metadata });
    await expect(refused).rejects.toBeInstanceOf(InvalidAppend);
    expect(append).toHaveBeenCalledTimes(1);
    expect(errorToProblem(await refused.catch((error: unknown) => error)).status).toBe(500);
    expect(await store.readStream('counter-c')).toEqual([]);
  });

  it('decides on a new stream without reading it, and reads it on the retry when it existed after all', async () => {
    const reads = jest.spyOn(store, 'readStream');
    const add = (amount: number) => commands.transact(['counter-fresh'], (unit) => unit.decide(counter, 'fresh', { type: 'Add', data: { amount } }), { metadata, newStreams: ['counter-fresh'] });
    await add(1);
    expect(reads).not.toHaveBeenCalled();
    expect((await store.readStream('counter-fresh')).map((e) => e.data)).toEqual([{ amount: 1 }]);
    reads.mockClear();
    // Named new again, but it exists: the first attempt's no_stream conflicts, the retry reads it.
    const second = await add(2);
    expect(reads).toHaveBeenCalledWith('counter-fresh', 0n, undefined);
    expect(second.aggregates.get('counter-fresh')?.state).toBe(3);
    expect((await store.readStream('counter-fresh')).map((e) => e.data)).toEqual([{ amount: 1 }, { amount: 2 }]);
  });
});
