import type { Redis } from 'ioredis';

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
