import { randomUUID } from 'node:crypto';
import { InProcessLockService } from '../../src/shared/lock/memory';
import { lockContract } from './lock.contract';

describe('InProcessLockService', () => {
  lockContract(async () => [new InProcessLockService()]);

  it('forgets a key once its queue drains', async () => {
    const locks = new InProcessLockService();
    const keys = Array.from({ length: 1_000 }, () => randomUUID());
    await Promise.all(keys.flatMap((key) => [1, 2, 3].map(() => locks.withLock(key, async () => undefined))));
    expect(locks.activeKeys).toBe(0);

    // Also after waiters that gave up and holders whose lease expired.
    await Promise.all([
      locks.withLock('k', () => new Promise((resolve) => setTimeout(resolve, 30)), { leaseMs: 10 }),
      locks.withLock('k', async () => undefined, { waitMs: 1 }),
      locks.withLock('k', async () => undefined),
    ]);
    expect(locks.activeKeys).toBe(0);
  });
});
