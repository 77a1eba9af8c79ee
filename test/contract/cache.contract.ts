/**
 * The cache port's contract. `make` returns one or more caches over one backend: with two
 * (two app instances on one Redis) the tests also check what one instance's delete does to the
 * other's loads. Keys carry a random suffix so a shared server can be reused.
 */
import { randomUUID } from 'node:crypto';
import { InMemoryReader } from '../../src/shared/cache/in-memory';
import { Cache } from '../../src/shared/cache/port';
import { until } from '../support/eventually';

interface Gate<T> {
  readonly opened: Promise<T>;
  open(value: T): void;
}

function gate<T>(): Gate<T> {
  let open!: (value: T) => void;
  const opened = new Promise<T>((resolve) => (open = resolve));
  return { opened, open };
}

/** A load that counts its calls and returns only when the test opens its gate. */
function gatedLoad<T>() {
  const release = gate<T>();
  const started = gate<void>();
  let calls = 0;
  return {
    release,
    started: started.opened,
    get calls() {
      return calls;
    },
    load: async () => {
      calls += 1;
      started.open();
      return release.opened;
    },
  };
}

const LONG = 60_000;

/** Both adapters also read their copies in memory (InMemoryReader): the contract holds them to it. */
type Adapter = Cache & InMemoryReader;

export function cacheContract(make: () => Promise<readonly Adapter[]>): void {
  let caches: readonly Adapter[];
  let first: Adapter;
  let last: Adapter;
  let key: string;

  beforeEach(async () => {
    caches = await make();
    first = caches[0];
    last = caches[caches.length - 1];
    key = `k-${randomUUID()}`;
  });
  afterEach(async () => {
    await Promise.all(caches.map((cache) => cache.close()));
  });

  it('misses a key never set, then returns an equal value once set', async () => {
    expect(await first.get(key)).toBeUndefined();
    const value = { id: 'p1', name: '머그컵 "big"', price: 12_000, tags: ['a', 'b'], note: null };
    await first.set(key, value, LONG);
    expect(await last.get(key)).toEqual(value);
    await first.set(key, { replaced: true }, LONG);
    expect(await last.get(key)).toEqual({ replaced: true });
  });

  it('keeps null, zero and empty values as values', async () => {
    for (const value of [null, 0, '', false, []]) {
      await first.set(key, value, LONG);
      expect(await last.get(key)).toEqual(value);
    }
  });

  it('forgets an entry once its TTL runs out, not before', async () => {
    const setAt = Date.now();
    await first.set(key, 'short-lived', 150);
    await first.set(`${key}-long`, 'long-lived', LONG);
    expect(await last.get(key)).toBe('short-lived');
    await until(async () => (await last.get(key)) === undefined, 'the entry to expire', 5_000);
    expect(Date.now() - setAt).toBeGreaterThanOrEqual(140);
    expect(await last.get(`${key}-long`)).toBe('long-lived');
  });

  it('deletes one key and leaves the others', async () => {
    await first.set(key, 1, LONG);
    await first.set(`${key}-other`, 2, LONG);
    await last.invalidate({ keys: [key] });
    expect(await first.get(key)).toBeUndefined();
    expect(await first.get(`${key}-other`)).toBe(2);
    await last.invalidate({ keys: [`${key}-never-set`] });
  });

  it('starts versions at 0 and bumps each name on its own', async () => {
    expect(await first.version(key)).toBe(0);
    await first.invalidate({ versions: [key] });
    expect(await last.version(key)).toBe(1);
    await last.invalidate({ versions: [key] });
    await first.invalidate({ versions: [key] });
    expect(await first.version(key)).toBe(3);
    expect(await last.version(`${key}-other`)).toBe(0);
  });

  it('forgets several keys and bumps several versions in one call, and an empty call changes nothing', async () => {
    await first.set(key, 1, LONG);
    await first.set(`${key}-2`, 2, LONG);
    await first.set(`${key}-kept`, 3, LONG);
    await last.invalidate({ keys: [key, `${key}-2`], versions: [`${key}-v1`, `${key}-v2`] });
    expect(await first.get(key)).toBeUndefined();
    expect(await first.get(`${key}-2`)).toBeUndefined();
    expect(await first.get(`${key}-kept`)).toBe(3);
    expect([await first.version(`${key}-v1`), await first.version(`${key}-v2`)]).toEqual([1, 1]);
    await last.invalidate({});
    expect(await first.get(`${key}-kept`)).toBe(3);
    expect(await first.version(`${key}-v1`)).toBe(1);
  });

  it('getOrLoad loads a miss once and then answers from the cache', async () => {
    let calls = 0;
    const load = async () => {
      calls += 1;
      return { n: calls };
    };
    expect(await first.getOrLoad(key, LONG, load)).toEqual({ n: 1 });
    expect(await first.getOrLoad(key, LONG, load)).toEqual({ n: 1 });
    expect(await last.getOrLoad(key, LONG, load)).toEqual({ n: 1 });
    expect(calls).toBe(1);
    expect(await last.get(key)).toEqual({ n: 1 });
  });

  it('getOrLoad keeps what it loaded for the TTL given', async () => {
    await first.getOrLoad(key, 150, async () => 'loaded');
    expect(await last.get(key)).toBe('loaded');
    await until(async () => (await last.get(key)) === undefined, 'the loaded entry to expire', 5_000);
  });

  it('getOrLoad returns but does not keep undefined', async () => {
    expect(await first.getOrLoad(key, LONG, async () => undefined)).toBeUndefined();
    expect(await first.getOrLoad(key, LONG, async () => 'now there')).toBe('now there');
  });

  it('getOrLoad keeps nothing when the load fails, and the next call loads again', async () => {
    await expect(first.getOrLoad(key, LONG, async () => Promise.reject(new Error('read model down')))).rejects.toThrow('read model down');
    expect(await first.get(key)).toBeUndefined();
    expect(await first.getOrLoad(key, LONG, async () => 'recovered')).toBe('recovered');
  });

  it('single flight: concurrent misses for one key in one process make one load', async () => {
    for (const cache of caches) {
      const cold = `${key}-${cache === first ? 'first' : 'last'}`;
      const gated = gatedLoad<string>();
      const waiting = Array.from({ length: 50 }, () => cache.getOrLoad(cold, LONG, gated.load));
      await gated.started;
      gated.release.open('once');
      expect(await Promise.all(waiting)).toEqual(Array(50).fill('once'));
      expect(gated.calls).toBe(1);
    }
  });

  it('a load that began before a delete does not store what it loaded', async () => {
    const stale = gatedLoad<string>();
    const loading = first.getOrLoad(key, LONG, stale.load);
    await stale.started;
    await last.invalidate({ keys: [key] });
    stale.release.open('before the change');
    expect(await loading).toBe('before the change');
    expect(await first.get(key)).toBeUndefined();
    expect(await last.get(key)).toBeUndefined();
    expect(await last.getOrLoad(key, LONG, async () => 'after the change')).toBe('after the change');
    expect(await first.get(key)).toBe('after the change');
  });

  it('peek answers from memory only what get would answer: nothing deleted, nothing stale', async () => {
    const agrees = async (cache: Adapter) => {
      const peeked = cache.peek(key);
      if (peeked) expect(peeked.value).toEqual(await cache.get(key));
      const version = cache.peekVersion(key);
      if (version !== undefined) expect(version).toBe(await cache.version(key));
      return peeked;
    };
    for (const cache of caches) expect(await agrees(cache)).toBeUndefined();
    await first.getOrLoad(key, LONG, async () => ({ loaded: 1 }));
    await first.version(key);
    for (const cache of caches) await agrees(cache);
    await last.invalidate({ keys: [key] });
    await last.invalidate({ versions: [key] });
    // The instance that changed it forgets at once; others once the change is announced.
    expect(last.peek(key)).toBeUndefined();
    await until(async () => first.peek(key) === undefined && [undefined, 1].includes(first.peekVersion(key)), 'the change to reach every instance', 5_000);
    for (const cache of caches) await agrees(cache);
  });

  it('a call after a delete does not share the load that began before it', async () => {
    const stale = gatedLoad<string>();
    const before = first.getOrLoad(key, LONG, stale.load);
    await stale.started;
    await first.invalidate({ keys: [key] });
    const after = await first.getOrLoad(key, LONG, async () => 'fresh');
    stale.release.open('stale');
    expect(after).toBe('fresh');
    expect(await before).toBe('stale');
    expect(await last.get(key)).toBe('fresh');
  });
}
