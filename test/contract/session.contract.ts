/**
 * The session-position port's contract. `make` returns one or more services over one backend
 * (instances sharing Redis): a write recorded through one is read through the others.
 */
import { randomUUID } from 'node:crypto';
import { SessionPositions } from '../../src/shared/session/port';
import { until } from '../support/eventually';

export function sessionContract(make: (ttlMs: number) => Promise<SessionPositions[]>): void {
  let user: string;
  beforeEach(() => {
    user = `user-${randomUUID()}`;
  });

  it('knows nothing of a user who has not written', async () => {
    const [service] = await make(10_000);
    expect(await service.latest(user)).toBeNull();
  });

  it('answers the latest position recorded, wherever it was recorded, and keeps users apart', async () => {
    const services = await make(10_000);
    const last = services[services.length - 1];
    await services[0].record(user, '00000000000000000005');
    expect(await last.latest(user)).toBe('00000000000000000005');
    await last.record(user, '00000000000000000009');
    expect(await services[0].latest(user)).toBe('00000000000000000009');
    expect(await services[0].latest(`${user}-other`)).toBeNull();
  });

  it('keeps the later position when writes are recorded out of order', async () => {
    const services = await make(10_000);
    await Promise.all(['00000000000000000003', '00000000000000000012', '00000000000000000007'].map((p, i) => services[i % services.length].record(user, p)));
    expect(await services[0].latest(user)).toBe('00000000000000000012');
    await services[0].record(user, '00000000000000000010');
    expect(await services[0].latest(user)).toBe('00000000000000000012');
  });

  it('forgets a user once the TTL has passed since their last write', async () => {
    // Long enough that a paused process (GC, a busy host) cannot outlive it between the two calls.
    const [service] = await make(2_000);
    await service.record(user, '00000000000000000001');
    expect(await service.latest(user)).toBe('00000000000000000001');
    await until(async () => (await service.latest(user)) === null, 'the position to outlive its TTL', 10_000, 50);
  });
}
