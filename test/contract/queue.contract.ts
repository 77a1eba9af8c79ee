/**
 * The queue port's contract. `make(leaseMs)` returns two queues over one backend, as two
 * processes (or app instances) would have, each one consumer. Every test uses a fresh queue.
 */
import { ClaimedJob, Queue } from '../../src/shared/queue/port';
import { eventually } from '../support/eventually';

const LONG_LEASE = 60_000;
const SHORT_LEASE = 150;

const ids = (jobs: readonly ClaimedJob[]) => jobs.map((job) => job.id);

export function queueContract(make: (leaseMs: number) => Promise<readonly [Queue, Queue]>): void {
  let queues: readonly Queue[] = [];
  const open = async (leaseMs: number) => {
    queues = await make(leaseMs);
    return queues as readonly [Queue, Queue];
  };
  afterEach(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    queues = [];
  });

  it('answers ping', async () => {
    const [a] = await open(LONG_LEASE);
    await expect(a.ping()).resolves.toBeUndefined();
  });

  it('hands out jobs in the order they came, at most `max` at a time, and forgets acked ones', async () => {
    const [a, b] = await open(LONG_LEASE);
    for (const id of ['j1', 'j2', 'j3']) expect(await a.enqueue([id])).toBe(1);
    const first = await b.claim(2);
    expect(ids(first)).toEqual(['j1', 'j2']);
    const second = await a.claim(10);
    expect(ids(second)).toEqual(['j3']);
    expect(await a.claim(10)).toEqual([]);
    for (const job of [...first, ...second]) {
      expect(await (first.includes(job) ? b : a).ack([job])).toBe(1);
    }
    expect(await b.claim(10)).toEqual([]);
  });

  it('keeps one job per id: enqueueing a waiting, held or released id does nothing; an acked one may come again', async () => {
    const [a, b] = await open(LONG_LEASE);
    expect(await a.enqueue(['same'])).toBe(1);
    expect(await b.enqueue(['same'])).toBe(0);
    const [held] = await a.claim(10);
    expect(held.id).toBe('same');
    expect(await b.enqueue(['same'])).toBe(0);
    expect(await a.release(held, 60_000)).toBe(true);
    expect(await b.enqueue(['same'])).toBe(0);
    expect(await b.claim(10)).toEqual([]);

    expect(await a.enqueue(['again'])).toBe(1);
    const [job] = await b.claim(10);
    expect(await b.ack([job])).toBe(1);
    expect(await a.enqueue(['again'])).toBe(1);
    expect(ids(await a.claim(10))).toEqual(['again']);
  });

  it('enqueues and acks several jobs in one call, counting only the ids not yet live and the claims still held', async () => {
    const [a, b] = await open(LONG_LEASE);
    expect(await a.enqueue(['m1'])).toBe(1);
    expect(await a.enqueue(['m1', 'm2', 'm3', 'm2'])).toBe(2);
    expect(await a.enqueue([])).toBe(0);
    const held = await a.claim(10);
    expect(ids(held)).toEqual(['m1', 'm2', 'm3']);
    // m1 goes back and b claims it: a's claim of it is lost, and acking it must not remove b's job.
    expect(await a.release(held[0], 0)).toBe(true);
    const [taken] = await b.claim(10);
    expect(taken.id).toBe('m1');
    expect(await a.ack(held)).toBe(2);
    expect(await a.enqueue(['m1', 'm2', 'm3'])).toBe(2);
    expect(await b.ack([taken])).toBe(1);
    expect(await b.ack([])).toBe(0);
    expect(ids(await b.claim(10))).toEqual(['m2', 'm3']);
  });

  it('enqueues one job when many enqueue the same id at once', async () => {
    const [a, b] = await open(LONG_LEASE);
    const added = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).enqueue(['racy'])));
    expect(added.filter(Boolean)).toHaveLength(1);
    expect(ids(await a.claim(10))).toEqual(['racy']);
    expect(await b.claim(10)).toEqual([]);
  });

  it('hands out a job that was not acked again once its lease ran out, and only then', async () => {
    const [a, b] = await open(SHORT_LEASE);
    await a.enqueue(['lost']);
    const claimedAt = Date.now();
    const [abandoned] = await a.claim(1);
    expect(await b.claim(1)).toEqual([]);
    const [again] = await eventually(
      () => b.claim(1),
      (jobs) => jobs.length > 0,
    );
    expect(again.id).toBe('lost');
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(SHORT_LEASE - 20);
    // The first holder's claim is stale: it can neither finish nor give back the new holder's job.
    expect(await a.ack([abandoned])).toBe(0);
    expect(await a.release(abandoned, 0)).toBe(false);
    expect(await a.claim(1)).toEqual([]);
    expect(await b.ack([again])).toBe(1);
  });

  it('lets a holder whose lease ran out but whose job nobody took finish it', async () => {
    const [a] = await open(SHORT_LEASE);
    await a.enqueue(['slow']);
    const [job] = await a.claim(1);
    await new Promise((resolve) => setTimeout(resolve, SHORT_LEASE + 50));
    expect(await a.ack([job])).toBe(1);
    expect(await a.claim(1)).toEqual([]);
  });

  it('gives a released job back after its delay, with a new claim', async () => {
    const [a, b] = await open(LONG_LEASE);
    await a.enqueue(['later']);
    const [job] = await a.claim(1);
    const releasedAt = Date.now();
    expect(await a.release(job, 200)).toBe(true);
    expect(await b.claim(1)).toEqual([]);
    const [again] = await eventually(
      () => b.claim(1),
      (jobs) => jobs.length > 0,
    );
    expect(again.id).toBe('later');
    expect(Date.now() - releasedAt).toBeGreaterThanOrEqual(180);
    expect(await a.ack([job])).toBe(0);
    expect(await b.ack([again])).toBe(1);
  });

  it('gives a job released without delay back at once', async () => {
    const [a, b] = await open(LONG_LEASE);
    await a.enqueue(['now']);
    const [job] = await a.claim(1);
    expect(await a.release(job, 0)).toBe(true);
    expect(ids(await b.claim(1))).toEqual(['now']);
  });

  it('never lets two consumers hold the same job at once', async () => {
    const [a, b] = await open(LONG_LEASE);
    const all = Array.from({ length: 200 }, (_, i) => `job-${i}`);
    await Promise.all(all.map((id, i) => (i % 2 ? a : b).enqueue([id])));
    const held: ClaimedJob[] = [];
    // Eight claimers at a time, four on each consumer, until nothing is left.
    const claimer = async (queue: Queue) => {
      for (;;) {
        const jobs = await queue.claim(7);
        if (jobs.length === 0 || held.length > all.length) return;
        held.push(...jobs);
      }
    };
    await Promise.all([a, b, a, b, a, b, a, b].map(claimer));
    expect(ids(held).sort()).toEqual([...all].sort());
    expect(new Set(ids(held)).size).toBe(held.length);
  });

  it('tells this instance when it enqueued a job, not for a duplicate', async () => {
    const [a] = await open(LONG_LEASE);
    let calls = 0;
    const stop = a.onEnqueued(() => calls++);
    await a.enqueue(['x']);
    await a.enqueue(['x']);
    stop();
    await a.enqueue(['y']);
    expect(calls).toBe(1);
  });
}
