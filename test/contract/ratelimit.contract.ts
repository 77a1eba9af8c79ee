/**
 * The rate limiter port's contract. `make` returns limiters over one backend (two app instances
 * on one Redis) and `passTime(ms)`, which moves the backend's clock on: a fake clock in process,
 * shortened TTLs in Redis, so window ends are tested without waiting for them.
 */
import { randomUUID } from 'node:crypto';
import { RateLimiter } from '../../src/shared/ratelimit/port';

export interface RateLimiterFixture {
  readonly limiters: readonly RateLimiter[];
  readonly passTime: (ms: number) => Promise<void>;
}

const WINDOW = 60_000;

export function rateLimiterContract(make: () => Promise<RateLimiterFixture>): void {
  let fixture: RateLimiterFixture;
  let key: string;
  beforeEach(async () => {
    fixture = await make();
    key = `k-${randomUUID()}`;
  });
  afterEach(async () => {
    await Promise.all(fixture.limiters.map((limiter) => limiter.close()));
  });

  it('counts hits in one window, across instances', async () => {
    const counts = [];
    for (let i = 0; i < 6; i += 1) counts.push((await fixture.limiters[i % fixture.limiters.length].hit(key, WINDOW)).count);
    expect(counts).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('gives concurrent hits distinct counts', async () => {
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => fixture.limiters[i % fixture.limiters.length].hit(key, WINDOW)));
    expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('keeps keys apart', async () => {
    await fixture.limiters[0].hit(key, WINDOW);
    await fixture.limiters[0].hit(key, WINDOW);
    expect((await fixture.limiters[0].hit(`${key}-other`, WINDOW)).count).toBe(1);
  });

  it('says when the window ends, and later hits do not move it', async () => {
    const first = await fixture.limiters[0].hit(key, WINDOW);
    expect(first.resetInMs).toBeGreaterThan(WINDOW - 1_000);
    expect(first.resetInMs).toBeLessThanOrEqual(WINDOW);
    await fixture.passTime(20_000);
    const later = await fixture.limiters[0].hit(key, WINDOW);
    expect(later.resetInMs).toBeLessThanOrEqual(WINDOW - 20_000);
    expect(later.resetInMs).toBeGreaterThan(WINDOW - 21_000);
  });

  it('starts counting again once the window has ended', async () => {
    for (let i = 0; i < 3; i += 1) await fixture.limiters[0].hit(key, WINDOW);
    await fixture.passTime(WINDOW);
    const next = await fixture.limiters[fixture.limiters.length - 1].hit(key, WINDOW);
    expect(next.count).toBe(1);
    expect(next.resetInMs).toBeGreaterThan(WINDOW - 1_000);
  });
}
