import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeys, TEST_REDIS_URL } from '../support/redis';
import { RedisQueue } from '../../src/shared/queue/redis';
import { queueContract } from './queue.contract';


describe('RedisQueue, two app instances on one Redis', () => {
  let clients: Redis[];
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

  const newKey = () => {
    const key = `test:queue:${randomUUID()}`;
    // Keys are `{key}:…`: the hash tag opens them.
    prefixes.push(`{${key}}`);
    return key;
  };

  queueContract(async (leaseMs) => {
    const key = newKey();
    return [new RedisQueue(clients[0], key, { leaseMs }), new RedisQueue(clients[1], key, { leaseMs })];
  });

  it('rebuilds its consumer group when the stream was lost', async () => {
    const key = newKey();
    const queue = new RedisQueue(clients[0], key, { leaseMs: 60_000 });
    await queue.enqueue(['before']);
    await deleteKeys(clients[0], `{${key}}`);
    expect(await queue.claim(10)).toEqual([]);
    expect(await queue.enqueue(['after'])).toBe(1);
    expect((await queue.claim(10)).map((job) => job.id)).toEqual(['after']);
  });

  it('forgets its consumer at close when it holds nothing, keeps it while it holds a job', async () => {
    const key = newKey();
    const idle = new RedisQueue(clients[0], key, { leaseMs: 60_000 });
    const busy = new RedisQueue(clients[1], key, { leaseMs: 60_000 });
    await idle.enqueue(['held']);
    await idle.enqueue(['done']);
    expect((await busy.claim(1)).map((job) => job.id)).toEqual(['held']);
    const [done] = await idle.claim(1);
    expect(await idle.ack([done])).toBe(1);
    const consumers = async () => ((await clients[0].xinfo('CONSUMERS', `{${key}}:stream`, 'workers')) as unknown[]).length;
    expect(await consumers()).toBe(2);
    await idle.close();
    await busy.close();
    expect(await consumers()).toBe(1);
  });
});
