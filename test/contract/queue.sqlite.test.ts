import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteQueue } from '../../src/shared/queue/sqlite';
import { queueContract } from './queue.contract';

describe('SqliteQueue, one file shared by two processes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventmart-queue-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  queueContract(async (leaseMs) => {
    const file = join(dir, `${randomUUID()}.db`);
    return [new SqliteQueue(file, 'jobs', { leaseMs }), new SqliteQueue(file, 'jobs', { leaseMs, synchronous: 'NORMAL' })];
  });

  it('keeps queues of one file apart', async () => {
    const file = join(dir, `${randomUUID()}.db`);
    const first = new SqliteQueue(file, 'first', { leaseMs: 60_000 });
    const second = new SqliteQueue(file, 'second', { leaseMs: 60_000 });
    try {
      expect(await first.enqueue(['shared-id'])).toBe(1);
      expect(await second.enqueue(['shared-id'])).toBe(1);
      expect((await first.claim(10)).map((job) => job.id)).toEqual(['shared-id']);
      expect((await second.claim(10)).map((job) => job.id)).toEqual(['shared-id']);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
