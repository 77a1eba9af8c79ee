/**
 * The lock port's contract. `make` returns one or more services over one backend: with two or
 * more (two app instances against one Redis) the tests also spread their callers across them.
 * Keys carry a random suffix so a shared server can be reused.
 */
import { randomUUID } from 'node:crypto';
import { Lease, LockService } from '../../src/shared/lock/port';

interface Signal {
  readonly promise: Promise<void>;
  fire(): void;
}

function signal(): Signal {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

/** Fails instead of hanging when what the test waits for never happens. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const LONG = 30_000;

export function lockContract(make: () => Promise<readonly LockService[]>): void {
  let services: readonly LockService[];
  let first: LockService;
  let last: LockService;
  let key: string;

  beforeEach(async () => {
    services = await make();
    first = services[0];
    last = services[services.length - 1];
    key = `lock-${randomUUID()}`;
  });
  afterEach(async () => {
    await Promise.all(services.map((service) => service.close()));
  });

  it('lets one holder at a time in, so a read-await-write counter loses no update', async () => {
    const n = 200;
    let counter = 0;
    let holders = 0;
    let maxHolders = 0;
    const leases: Lease[] = [];
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        services[i % services.length].withLock(
          key,
          async (lease) => {
            holders++;
            maxHolders = Math.max(maxHolders, holders);
            leases.push(lease);
            const read = counter;
            await new Promise((resolve) => setImmediate(resolve));
            counter = read + 1;
            holders--;
          },
          { leaseMs: LONG, waitMs: LONG },
        ),
      ),
    );
    expect(counter).toBe(n);
    expect(maxHolders).toBe(1);
    expect(leases.every((lease) => lease.acquired)).toBe(true);
    const tokens = leases.map((lease) => lease.fencingToken);
    expect(tokens.every((token, i) => i === 0 || token > tokens[i - 1])).toBe(true);
  });

  it('hands out strictly increasing fencing tokens per key', async () => {
    const tokens: number[] = [];
    for (let i = 0; i < 10; i++) {
      const lease = await services[i % services.length].withLock(key, async (l) => l);
      expect(lease.acquired).toBe(true);
      tokens.push(lease.fencingToken);
    }
    expect(tokens.every((token, i) => i === 0 || token > tokens[i - 1])).toBe(true);
  });

  it('runs different keys in parallel', async () => {
    const otherStarted = signal();
    const [a, b] = await Promise.all([
      first.withLock(
        key,
        async (lease) => {
          await within(otherStarted.promise, 5_000, 'the other key to be locked');
          return lease;
        },
        { waitMs: LONG },
      ),
      last.withLock(
        `${key}-other`,
        async (lease) => {
          otherStarted.fire();
          return lease;
        },
        { waitMs: LONG },
      ),
    ]);
    expect([a.acquired, b.acquired]).toEqual([true, true]);
  });

  it('releases the lock when the holder throws', async () => {
    await expect(
      first.withLock(key, async () => {
        throw new Error('boom');
      }, { leaseMs: LONG }),
    ).rejects.toThrow('boom');
    // Only the release can free the key in time: the lease is far longer than this wait.
    const lease = await last.withLock(key, async (l) => l, { waitMs: 2_000 });
    expect(lease.acquired).toBe(true);
  });

  it('lets the next holder in with a larger token once a lease expires, and the late holder cannot free it', async () => {
    const nextIn = signal();
    const thirdDone = signal();
    let next: Promise<Lease> | undefined;
    try {
      const expired = await first.withLock(
        key,
        async (lease) => {
          next = last.withLock(
            key,
            async (l) => {
              nextIn.fire();
              await within(thirdDone.promise, 10_000, 'the third caller');
              return l;
            },
            { leaseMs: LONG, waitMs: 10_000 },
          );
          await within(nextIn.promise, 5_000, 'the next holder after the lease expired');
          return lease;
        },
        { leaseMs: 50 },
      );
      expect(expired.acquired).toBe(true);

      // The expired holder has finished and released: the next holder must still hold the key.
      const third = await first.withLock(key, async (l) => l, { waitMs: 100 });
      expect(third.acquired).toBe(false);

      thirdDone.fire();
      const nextLease = await next!;
      expect(nextLease.acquired).toBe(true);
      expect(nextLease.fencingToken).toBeGreaterThan(expired.fencingToken);
    } finally {
      thirdDone.fire();
      await next?.catch(() => undefined);
    }
  });

  it('runs unlocked with acquired=false when waitMs runs out', async () => {
    const holding = signal();
    const letGo = signal();
    const holder = first.withLock(
      key,
      async (lease) => {
        holding.fire();
        await within(letGo.promise, 10_000, 'the test to let go');
        return lease;
      },
      { leaseMs: LONG },
    );
    try {
      await holding.promise;
      for (const service of services) {
        let ran = false;
        const lease = await service.withLock(
          key,
          async (l) => {
            ran = true;
            return l;
          },
          { waitMs: 50 },
        );
        expect(ran).toBe(true);
        expect(lease.acquired).toBe(false);
      }
    } finally {
      letGo.fire();
    }
    expect((await holder).acquired).toBe(true);
    expect((await last.withLock(key, async (l) => l)).acquired).toBe(true);
  });
}
