/**
 * The lease port's contract. `make` returns one or more services over one backend (two app
 * processes against one Redis): owners are spread across them. Names carry a random suffix so
 * a shared server can be reused.
 */
import { randomUUID } from 'node:crypto';
import { LeaseService } from '../../src/shared/lease/port';
import { present } from '../support/eventually';

export function leaseContract(make: () => Promise<LeaseService[]>): void {
  let services: LeaseService[];
  let name: string;
  const as = (i: number) => services[i % services.length];
  beforeEach(async () => {
    services = await make();
    name = `projection:${randomUUID()}`;
  });

  it('gives a free lease to one owner and refuses the others while it is held', async () => {
    const grant = await as(0).acquire(name, 'a', 10_000);
    expect(grant).toEqual({ fencingToken: expect.any(Number) });
    expect(await as(1).acquire(name, 'b', 10_000)).toBeNull();
    expect(await as(1).renew(name, 'b', 10_000)).toBe(false);
  });

  it('lets only one of many owners asking at once take it', async () => {
    const grants = await Promise.all(Array.from({ length: 20 }, (_, i) => as(i).acquire(name, `owner-${i}`, 10_000)));
    expect(grants.filter((g) => g !== null)).toHaveLength(1);
  });

  it('renews for the holder, who keeps its token when it asks again', async () => {
    const grant = await as(0).acquire(name, 'a', 10_000);
    expect(await as(0).renew(name, 'a', 10_000)).toBe(true);
    expect(await as(1).acquire(name, 'a', 10_000)).toEqual(grant);
  });

  it('frees the lease only for its holder', async () => {
    await as(0).acquire(name, 'a', 10_000);
    await as(1).release(name, 'b');
    expect(await as(1).acquire(name, 'b', 10_000)).toBeNull();
    await as(0).release(name, 'a');
    expect(await as(1).acquire(name, 'b', 10_000)).not.toBeNull();
  });

  it('lapses when not renewed, then goes to the next owner with a larger token; the old holder can no longer renew or free it', async () => {
    const first = (await as(0).acquire(name, 'a', 150))!;
    const second = await present(() => as(1).acquire(name, 'b', 10_000), 'the lease to lapse', 5_000);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(await as(0).renew(name, 'a', 10_000)).toBe(false);
    await as(0).release(name, 'a');
    expect(await as(0).acquire(name, 'a', 10_000)).toBeNull();
  });

  it('hands a lease held by an earlier life of the same instance to its restart at once, with a larger token that fences the earlier one out', async () => {
    const dead = (await as(0).acquire(name, 'instance-1|life-1', 10_000))!;
    const restarted = await as(1).acquire(name, 'instance-1|life-2', 10_000, 'instance-1|');
    expect(restarted!.fencingToken).toBeGreaterThan(dead.fencingToken);
    expect(await as(0).renew(name, 'instance-1|life-1', 10_000)).toBe(false);
    expect(await as(0).acquire(name, 'instance-1|life-1', 10_000)).toBeNull();
    // The restart asking again renews and keeps its token.
    expect(await as(0).acquire(name, 'instance-1|life-2', 10_000, 'instance-1|')).toEqual(restarted);
  });

  it('never takes a lease early from another instance', async () => {
    await as(0).acquire(name, 'instance-1|life-1', 10_000);
    expect(await as(1).acquire(name, 'instance-2|life-1', 10_000, 'instance-2|')).toBeNull();
    expect(await as(1).acquire(name, 'instance-10|life-1', 10_000, 'instance-10|')).toBeNull();
    expect(await as(0).renew(name, 'instance-1|life-1', 10_000)).toBe(true);
  });

  it('draws every token above the fence a store names, also for the holder asking again (a backend that lost its counter)', async () => {
    const fresh = (await as(0).acquire(name, 'a', 10_000, undefined, 1_000))!;
    expect(fresh.fencingToken).toBeGreaterThan(1_000);
    // The holder, refused by a store fenced further on, asks again: a new token above that fence, the lease still its own.
    const lifted = (await as(1).acquire(name, 'a', 10_000, undefined, fresh.fencingToken + 5))!;
    expect(lifted.fencingToken).toBeGreaterThan(fresh.fencingToken + 5);
    expect(await as(0).acquire(name, 'a', 10_000)).toEqual(lifted);
    expect(await as(1).acquire(name, 'b', 10_000, undefined, 1_000_000)).toBeNull();
    expect(await as(0).release(name, 'a')).toBeUndefined();
    expect((await as(1).acquire(name, 'b', 10_000))!.fencingToken).toBeGreaterThan(lifted.fencingToken);
  });

  it('keeps leases of different names apart', async () => {
    expect(await as(0).acquire(`${name}:x`, 'a', 10_000)).not.toBeNull();
    expect(await as(1).acquire(`${name}:y`, 'b', 10_000)).not.toBeNull();
  });
}
