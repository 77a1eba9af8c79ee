import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { SqliteDocumentStore } from '../../src/shared/documents/sqlite';
import { DAILY_SALES, DocumentSalesRanking, dailySalesId } from '../../projections/ranking/documents';
import { RedisSalesRanking } from '../../projections/ranking/redis';
import { REDIS_URL } from '../support/app';
import { rankingContract } from './ranking.contract';

describe('ranking over the read model (embedded)', () => {
  const stores: SqliteDocumentStore[] = [];
  afterAll(async () => Promise.all(stores.map((s) => s.close())));
  rankingContract(async (entries) => {
    const documents = new SqliteDocumentStore(':memory:');
    stores.push(documents);
    await documents.ensureCollection({ name: DAILY_SALES, indexes: [['day']] });
    await documents.write(entries.map((e) => ({ kind: 'upsert' as const, collection: DAILY_SALES, doc: { id: dailySalesId(e.day, e.productId), ...e } })));
    return new DocumentSalesRanking(documents);
  });
});

describe('ranking in Redis sorted sets', () => {
  const redis = new Redis(REDIS_URL);
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });
  rankingContract(async (entries) => {
    const prefix = `test:ranking:${randomUUID()}:`;
    prefixes.push(prefix);
    const ranking = new RedisSalesRanking(redis, prefix);
    await ranking.record(entries);
    return ranking;
  });

  it('clear forgets every day', async () => {
    const prefix = `test:ranking:${randomUUID()}:`;
    prefixes.push(prefix);
    const ranking = new RedisSalesRanking(redis, prefix);
    await ranking.record([{ day: '2026-11-01', productId: 'p', quantity: 1 }]);
    await ranking.clear();
    expect(await ranking.top(['2026-11-01'], 5)).toEqual([]);
    expect(await redis.keys(`${prefix}day:*`)).toEqual([]);
  });

  it('says it is not intact once its keys are lost, until a refill sets every count again', async () => {
    const prefix = `test:ranking:${randomUUID()}:`;
    prefixes.push(prefix);
    const ranking = new RedisSalesRanking(redis, prefix);
    expect(await ranking.intact()).toBe(false);
    await ranking.clear();
    expect(await ranking.intact()).toBe(true);
    await ranking.record([{ day: '2026-11-01', productId: 'p', quantity: 1 }]);
    // What a Redis restart does.
    await redis.del(...(await redis.keys(`${prefix}*`)));
    expect(await ranking.intact()).toBe(false);
    async function* counts() {
      yield { day: '2026-11-01', productId: 'p', quantity: 1 };
      yield { day: '2026-11-01', productId: 'q', quantity: 2 };
    }
    await ranking.refill(counts());
    expect(await ranking.intact()).toBe(true);
    expect(await ranking.top(['2026-11-01'], 5)).toEqual([{ productId: 'q', quantity: 2 }, { productId: 'p', quantity: 1 }]);
  });
});
