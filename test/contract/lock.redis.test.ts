import { Redis } from 'ioredis';
import { twoRedisClients } from '../support/redis';
import { RedisLockService } from '../../src/shared/lock/redis';
import { lockContract } from './lock.contract';

describe('RedisLockService', () => {
  // Two clients per test, as two app instances would have.
  const { clients, newPrefix } = twoRedisClients('lock');

  lockContract(async () => {
    const prefix = newPrefix();
    return clients().map((client) => new RedisLockService(client, prefix));
  });

  // Nothing listens on port 1. disconnectTimeout: ioredis otherwise keeps a 2 s timer for the
  // socket that never opened, which holds jest open.
  const unreachable = { host: '127.0.0.1', port: 1, disconnectTimeout: 10 };

  it('runs unlocked, within waitMs, when Redis is unreachable and the client queues commands', async () => {
    const down = new Redis(unreachable);
    down.on('error', () => undefined);
    try {
      const started = Date.now();
      const lease = await new RedisLockService(down, 'test:lock:down:').withLock('k', async (l) => l, { waitMs: 100 });
      expect(lease).toEqual({ acquired: false, fencingToken: 0 });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      down.disconnect();
    }
  });

  it('runs unlocked when Redis refuses the command', async () => {
    const down = new Redis({ ...unreachable, enableOfflineQueue: false });
    down.on('error', () => undefined);
    try {
      const lease = await new RedisLockService(down, 'test:lock:down:').withLock('k', async (l) => l);
      expect(lease.acquired).toBe(false);
    } finally {
      down.disconnect();
    }
  });
});
