import pino from 'pino';
import { Registry } from 'prom-client';
import { InProcessSessionPositions } from '../../src/shared/session/memory';
import { OwnWrites } from '../../src/shared/session/own-writes';
import { SessionPositions } from '../../src/shared/session/port';

const down: SessionPositions = {
  adapterName: 'down',
  record: () => Promise.reject(new Error('connection is closed')),
  latest: () => Promise.reject(new Error('connection is closed')),
  close: async () => undefined,
};

/** Redis that dropped one write and came back: reads work, the record did not land. */
const lostRecord = (): SessionPositions => {
  const shared = new InProcessSessionPositions(60_000);
  return { adapterName: 'lost-record', record: () => Promise.reject(new Error('Connection is closed.')), latest: (userId) => shared.latest(userId), close: async () => undefined };
};

const metric = async (registry: Registry, name: string) => (await registry.getSingleMetric(name)?.get())?.values[0]?.value;

describe("a user's own writes, as the route runner sees them", () => {
  const logger = pino({ level: 'silent' });

  it('answers the latest recorded position, and null for a user with none', async () => {
    const own = new OwnWrites(new InProcessSessionPositions(60_000), async () => '00000000000000000099', logger, 60_000, new Registry());
    await own.record('alice', '00000000000000000007');
    expect(await own.latest('alice')).toBe('00000000000000000007');
    expect(await own.latest('bob')).toBeNull();
  });

  it('waits for the head of the log while the positions cannot be read, and never fails the write it could not record', async () => {
    const own = new OwnWrites(down, async () => '00000000000000000099', logger, 60_000, new Registry());
    await expect(own.record('alice', '00000000000000000007')).resolves.toBeUndefined();
    // At or past anything the user can have written: slower, still their own writes.
    expect(await own.latest('alice')).toBe('00000000000000000099');
    expect(await own.latest('bob')).toBe('00000000000000000099');
  });

  it('keeps a position it could not share in the process, so this instance still waits for it, and counts the failure', async () => {
    const registry = new Registry();
    const own = new OwnWrites(lostRecord(), async () => '00000000000000000099', logger, 60_000, registry);
    await expect(own.record('alice', '00000000000000000007')).resolves.toBeUndefined();
    expect(await own.latest('alice')).toBe('00000000000000000007');
    expect(await own.latest('bob')).toBeNull();
    expect(await metric(registry, 'eventmart_session_position_record_failures_total')).toBe(1);
  });

  it('answers the later of the shared position and the one kept in the process', async () => {
    const shared = new InProcessSessionPositions(60_000);
    let failing = true;
    const flaky: SessionPositions = {
      adapterName: 'flaky',
      record: (userId, position) => (failing ? Promise.reject(new Error('Connection is closed.')) : shared.record(userId, position)),
      latest: (userId) => shared.latest(userId),
      close: async () => undefined,
    };
    const own = new OwnWrites(flaky, async () => '00000000000000000099', logger, 60_000, new Registry());
    await own.record('alice', '00000000000000000007');
    failing = false;
    await own.record('alice', '00000000000000000005');
    expect(await own.latest('alice')).toBe('00000000000000000007');
    await own.record('alice', '00000000000000000011');
    expect(await own.latest('alice')).toBe('00000000000000000011');
  });
});
