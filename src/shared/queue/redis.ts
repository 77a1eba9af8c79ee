import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { ClaimedJob, Queue, QueueOptions } from './port';

const GROUP = 'workers';

// A job id is live in exactly one place at a time: an entry of the stream (waiting or held by a
// consumer) or a member of the delayed set (released, waiting for its due time). The live set
// holds every live id; each script moves an id between places in one atomic step.
const ENQUEUE = `
local added = 0
for _, id in ipairs(ARGV) do
  if redis.call('SADD', KEYS[2], id) == 1 then
    redis.call('XADD', KEYS[1], '*', 'id', id)
    added = added + 1
  end
end
return added`;

// Creates the group on first use (and again if the stream was lost: the queue is rebuildable),
// moves released jobs that are due back into the stream, takes over entries whose holder has
// been silent longer than the lease (XAUTOCLAIM), then reads new ones. Each claimed entry comes
// back with its delivery count, which XAUTOCLAIM raises: entry id and count name the claim.
const CLAIM = `
redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local max = tonumber(ARGV[4])
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, max)) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('XADD', KEYS[1], '*', 'id', id)
end
local claimed = {}
local expired = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[5], 'COUNT', max)
for _, entry in ipairs(expired[2]) do
  local held = redis.call('XPENDING', KEYS[1], ARGV[1], entry[1], entry[1], 1)[1]
  claimed[#claimed + 1] = {entry[1], entry[2][2], held[4]}
end
if #claimed < max then
  local fresh = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', max - #claimed, 'STREAMS', KEYS[1], '>')
  if fresh then
    for _, entry in ipairs(fresh[1][2]) do claimed[#claimed + 1] = {entry[1], entry[2][2], 1} end
  end
end
return {expired[1], claimed}`;

// Only the current claim may finish an entry: same consumer and same delivery count. A holder
// whose lease ran out and whose entry was taken over must not remove the new holder's job.
const FINISH = `
local function finish(group, consumer, entry, deliveries)
  local held = redis.call('XPENDING', KEYS[1], group, entry, entry, 1)[1]
  if not held or held[2] ~= consumer or held[4] ~= tonumber(deliveries) then return false end
  redis.call('XACK', KEYS[1], group, entry)
  redis.call('XDEL', KEYS[1], entry)
  return true
end`;

// ARGV: group, consumer, then entry, delivery count and job id for each job.
const ACK = `${FINISH}
local acked = 0
for i = 3, #ARGV, 3 do
  if finish(ARGV[1], ARGV[2], ARGV[i], ARGV[i + 1]) then
    redis.call('SREM', KEYS[2], ARGV[i + 2])
    acked = acked + 1
  end
end
return acked`;

const RELEASE = `${FINISH}
if not finish(ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 0 end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[5])
return 1`;

// A consumer that holds nothing is forgotten at shutdown, so restarts do not pile up names.
const FORGET = `
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return 1`;

/**
 * The queue on Redis Streams (Redis >= 7): one stream read by a consumer group, so each entry
 * goes to one consumer; a held entry stays in the group's pending list until acked, and one
 * idle longer than the lease is taken over by the next claim. Released jobs wait in a sorted
 * set by due time. All keys share one hash tag (one Redis Cluster slot). The keys must not be
 * evicted (noeviction), or a live id could lose its entry; the caller's reconciliation still
 * re-enqueues work whose keys were all lost.
 *
 * Each instance is one consumer of the group. The client belongs to the caller: `close`
 * leaves it open.
 */
export class RedisQueue implements Queue {
  readonly adapterName = 'redis';
  private readonly emitter = new EventEmitter();
  private readonly consumer = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly stream: string;
  private readonly live: string;
  private readonly delayed: string;
  /** Where the next XAUTOCLAIM scan of the pending list starts, so it walks all of it in turn. */
  private cursor = '0-0';

  constructor(
    private readonly redis: Redis,
    key: string,
    private readonly options: QueueOptions,
  ) {
    this.emitter.setMaxListeners(0);
    const tag = `{${key}}`;
    this.stream = `${tag}:stream`;
    this.live = `${tag}:live`;
    this.delayed = `${tag}:delayed`;
  }

  async enqueue(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const added = (await this.redis.eval(ENQUEUE, 2, this.stream, this.live, ...ids)) as number;
    if (added > 0) this.emitter.emit('enqueued');
    return added;
  }

  async claim(max: number): Promise<ClaimedJob[]> {
    const lease = Math.max(1, Math.ceil(this.options.leaseMs));
    const [cursor, entries] = (await this.redis.eval(CLAIM, 2, this.stream, this.delayed, GROUP, this.consumer, lease, max, this.cursor)) as [
      string,
      Array<[string, string, number]>,
    ];
    this.cursor = cursor;
    return entries.map(([entry, id, deliveries]) => ({ id, receipt: `${entry}/${deliveries}` }));
  }

  async ack(jobs: readonly ClaimedJob[]): Promise<number> {
    if (jobs.length === 0) return 0;
    const held = jobs.flatMap((job) => [...job.receipt.split('/'), job.id]);
    return (await this.redis.eval(ACK, 2, this.stream, this.live, GROUP, this.consumer, ...held)) as number;
  }

  async release(job: ClaimedJob, delayMs: number): Promise<boolean> {
    const [entry, deliveries] = job.receipt.split('/');
    const delay = Math.max(0, Math.ceil(delayMs));
    return (
      (await this.redis.eval(RELEASE, 3, this.stream, this.live, this.delayed, GROUP, this.consumer, entry, deliveries, job.id, delay)) === 1
    );
  }

  onEnqueued(listener: () => void): () => void {
    this.emitter.on('enqueued', listener);
    return () => this.emitter.off('enqueued', listener);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    try {
      await this.redis.eval(FORGET, 1, this.stream, GROUP, this.consumer);
    } catch {
      // Never claimed (no group yet) or Redis is away: a leftover consumer name costs nothing.
    }
  }
}
