import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * Deletes every key under `prefix`: how suites "flush" Redis without touching other suites'
 * keys (never FLUSHDB: the server is shared), and how test apps clean up after themselves.
 */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  // One DEL, like a flush: deleting batch by batch could also take keys written in between.
  return keys.length === 0 ? 0 : redis.del(...keys);
}

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Declares, inside a describe block, two Redis clients (as two app instances would have) and a
 * source of fresh key prefixes whose keys are deleted after each test.
 */
export function twoRedisClients(kind: string): { clients: () => Redis[]; newPrefix: () => string } {
  let clients: Redis[] = [];
  const prefixes: string[] = [];
  beforeAll(() => {
    clients = [new Redis(TEST_REDIS_URL), new Redis(TEST_REDIS_URL)];
  });
  afterEach(async () => {
    await Promise.all(prefixes.splice(0).map((prefix) => deleteKeys(clients[0], prefix)));
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit()));
  });
  return {
    clients: () => clients,
    newPrefix: () => {
      const prefix = `test:${kind}:${randomUUID()}:`;
      prefixes.push(prefix);
      return prefix;
    },
  };
}
