import { InProcessCache } from '../../src/shared/cache/memory';
import { cacheContract } from './cache.contract';

describe('InProcessCache', () => {
  cacheContract(async () => [new InProcessCache()]);

  it('is bounded: the least recently used entry goes first', async () => {
    const cache = new InProcessCache(2);
    await cache.set('a', 1, 60_000);
    await cache.set('b', 2, 60_000);
    await cache.get('a');
    await cache.set('c', 3, 60_000);
    expect([await cache.get('a'), await cache.get('b'), await cache.get('c')]).toEqual([1, undefined, 3]);
  });
});
