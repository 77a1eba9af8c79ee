import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { byQuantityThenId, DailySales, RankedProduct, SalesRanking } from './port';

const DAY_MS = 86_400_000;
/** A day's set outlives the largest window (30 days) by a margin. */
const DAY_TTL_MS = 35 * DAY_MS;

/**
 * One sorted set per day (member: product id, score: quantity); a window is a ZUNIONSTORE of
 * its days into a short-lived key. Redis breaks score ties by member in reverse, so the members
 * tied at the cut are fetched separately and put in product-id order.
 */
export class RedisSalesRanking implements SalesRanking {
  readonly adapterName = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async record(entries: readonly DailySales[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.multi();
    for (const { day, productId, quantity } of entries) {
      if (quantity > 0) pipeline.zadd(this.dayKey(day), quantity, productId);
      else pipeline.zrem(this.dayKey(day), productId);
    }
    for (const day of new Set(entries.map((entry) => entry.day))) pipeline.pexpire(this.dayKey(day), DAY_TTL_MS);
    await pipeline.exec();
  }

  async top(days: readonly string[], limit: number): Promise<RankedProduct[]> {
    const union = `${this.prefix}window:${randomUUID()}`;
    try {
      const [, , [, ranked], [, below]] = (await this.redis
        .multi()
        .zunionstore(union, days.length, ...days.map((day) => this.dayKey(day)))
        .zremrangebyscore(union, '-inf', 0)
        .zrevrange(union, 0, limit - 1, 'WITHSCORES')
        .zcard(union)
        .exec()) as [unknown, unknown, [unknown, string[]], [unknown, number]];
      const top = pairs(ranked);
      if (top.length === 0 || below <= top.length) return top.sort(byQuantityThenId);
      // Members tied with the last one may sit beyond the cut: fetch every member at that score.
      const cut = top[top.length - 1].quantity;
      const tied = (await this.redis.zrangebyscore(union, cut, cut)).map((productId) => ({ productId, quantity: cut }));
      return [...top.filter((entry) => entry.quantity > cut), ...tied].sort(byQuantityThenId).slice(0, limit);
    } finally {
      await this.redis.del(union);
    }
  }

  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}day:*`, 'COUNT', 500);
      if (keys.length > 0) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await this.redis.set(this.intactKey, '1');
  }

  /** The marker goes with the data when Redis restarts empty or is flushed: its absence says the days must be refilled. */
  async intact(): Promise<boolean> {
    return (await this.redis.exists(this.intactKey)) === 1;
  }

  async refill(entries: AsyncIterable<DailySales>): Promise<void> {
    let chunk: DailySales[] = [];
    for await (const entry of entries) {
      chunk.push(entry);
      if (chunk.length === 500) {
        await this.record(chunk);
        chunk = [];
      }
    }
    await this.record(chunk);
    await this.redis.set(this.intactKey, '1');
  }

  private get intactKey() {
    return `${this.prefix}intact`;
  }

  private dayKey(day: string) {
    return `${this.prefix}day:${day}`;
  }
}

function pairs(flat: string[]): RankedProduct[] {
  const out: RankedProduct[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ productId: flat[i], quantity: Number(flat[i + 1]) });
  return out;
}
