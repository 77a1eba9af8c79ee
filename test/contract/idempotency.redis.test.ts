import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisIdempotencyStore } from '../../src/shared/idempotency/redis';
import { idempotencyContract } from './idempotency.contract';

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

describe('RedisIdempotencyStore, two app instances on one Redis', () => {
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

  idempotencyContract(async () => {
    const prefix = `test:idem:${randomUUID()}:`;
    prefixes.push(prefix);
    return clients.map((client) => new RedisIdempotencyStore(client, prefix));
  }, 2);
});
