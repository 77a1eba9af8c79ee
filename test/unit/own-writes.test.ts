import pino from 'pino';
import { InProcessSessionPositions } from '../../src/shared/session/memory';
import { OwnWrites } from '../../src/shared/session/own-writes';
import { SessionPositions } from '../../src/shared/session/port';

const down: SessionPositions = {
  adapterName: 'down',
  record: () => Promise.reject(new Error('connection is closed')),
  latest: () => Promise.reject(new Error('connection is closed')),
  close: async () => undefined,
};

describe("a user's own writes, as the route runner sees them", () => {
  const logger = pino({ level: 'silent' });

  it('answers the latest recorded position, and null for a user with none', async () => {
    const own = new OwnWrites(new InProcessSessionPositions(60_000), async () => '00000000000000000099', logger);
    await own.record('alice', '00000000000000000007');
    expect(await own.latest('alice')).toBe('00000000000000000007');
    expect(await own.latest('bob')).toBeNull();
  });

  it('waits for the head of the log while the positions cannot be read, and never fails the write it could not record', async () => {
    const own = new OwnWrites(down, async () => '00000000000000000099', logger);
    await expect(own.record('alice', '00000000000000000007')).resolves.toBeUndefined();
    // At or past anything the user can have written: slower, still their own writes.
    expect(await own.latest('alice')).toBe('00000000000000000099');
    expect(await own.latest('bob')).toBe('00000000000000000099');
  });
});
