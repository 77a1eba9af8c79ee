import { InProcessCache } from '../../src/shared/cache/memory';
import { cacheContract } from './cache.contract';
import { until } from '../support/eventually';

describe('InProcessCache', () => {
  cacheContract(async () => [new InProcessCache()]);

  it('peeks at what it holds, within its TTL', async () => {
    const cache = new InProcessCache();
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peekVersion('list')).toBe(0);
    await cache.getOrLoad('a', 60_000, async () => ({ n: 1 }));
    await cache.set('short', 'x', 1);
    await cache.invalidate({ versions: ['list'] });
    expect(cache.peek('a')).toEqual({ value: { n: 1 } });
    expect(cache.peekVersion('list')).toBe(1);
    await until(() => cache.peek('short') === undefined, 'the 1 ms entry to expire', 1_000);
  });

  it('is bounded: the least recently used entry goes first', async () => {
    const cache = new InProcessCache(2);
    await cache.set('a', 1, 60_000);
    await cache.set('b', 2, 60_000);
    await cache.get('a');
    await cache.set('c', 3, 60_000);
    expect([await cache.get('a'), await cache.get('b'), await cache.get('c')]).toEqual([1, undefined, 3]);
  });
});
