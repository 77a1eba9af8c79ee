import { InProcessRateLimiter } from '../../src/shared/ratelimit/memory';
import { rateLimiterContract } from './ratelimit.contract';

describe('InProcessRateLimiter', () => {
  rateLimiterContract(async () => {
    let now = 1_000_000;
    return { limiters: [new InProcessRateLimiter(() => now)], passTime: async (ms) => void (now += ms) };
  });

  it('forgets ended windows, so many one-off clients do not pile up', async () => {
    let now = 0;
    const limiter = new InProcessRateLimiter(() => now);
    for (let i = 0; i < 5_000; i += 1) await limiter.hit(`ip-${i}`, 1_000);
    now += 1_000;
    for (let i = 0; i < 1_000; i += 1) await limiter.hit('steady', 1_000);
    expect(limiter.size).toBeLessThan(1_000);
  });
});
