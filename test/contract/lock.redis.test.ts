import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisLockService } from '../../src/shared/lock/redis';
import { lockContract } from './lock.contract';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes every key under `prefix` (never the whole database: other suites share it). */
async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

describe('RedisLockService', () => {
  // Two clients and two services per test, as two app instances would have.
  let clients: Redis[];
  const prefixes: string[] = [];

  beforeAll(() => {
    clients = [new Redis(url), new Redis(url)];
  });
  afterEach(async () => {
    await Promise.all(prefixes.splice(0).map((prefix) => deleteKeys(clients[0], prefix)));
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()));
  });

  lockContract(async () => {
    const prefix = `test:lock:${randomUUID()}:`;
    prefixes.push(prefix);
    return clients.map((client) => new RedisLockService(client, prefix));
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
