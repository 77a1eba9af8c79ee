/**
 * The data key store port's contract. `make` returns stores over one backend (two processes
 * sharing a file); user ids carry a random suffix so a shared backend can be reused.
 */
import { randomUUID } from 'node:crypto';
import { DataKeyStore, WrappedDataKey } from '../../src/shared/keys/port';

export function dataKeyStoreContract(make: () => Promise<readonly DataKeyStore[]>): void {
  let stores: readonly DataKeyStore[];
  let first: DataKeyStore;
  let last: DataKeyStore;
  let run: string;
  const keyFor = (userId: string, keyId = `dk-${randomUUID()}`): WrappedDataKey => ({ userId, keyId, masterKeyId: 'mk-1', wrapped: `wrapped-${keyId}` });

  beforeEach(async () => {
    stores = await make();
    first = stores[0];
    last = stores[stores.length - 1];
    run = randomUUID().slice(0, 8);
  });
  afterEach(async () => {
    await Promise.all(stores.map((store) => store.close()));
  });

  it('has no key for a new user, then the one created', async () => {
    const key = keyFor(`${run}-u1`);
    expect(await first.get(key.userId)).toBeNull();
    expect(await first.create(key)).toEqual(key);
    expect(await last.get(key.userId)).toEqual(key);
  });

  it('keeps the first key when two are created for one user', async () => {
    const userId = `${run}-u1`;
    const candidates = Array.from({ length: 10 }, () => keyFor(userId));
    const results = await Promise.all(candidates.map((key, i) => stores[i % stores.length].create(key)));
    const kept = await first.get(userId);
    expect(candidates).toContainEqual(kept);
    for (const result of results) expect(result).toEqual(kept);
  });

  it('re-wraps only a key that is still stored as it was read', async () => {
    const key = await first.create(keyFor(`${run}-u1`));
    expect(await last.rewrap(key, 'mk-2', 'wrapped-again')).toBe(true);
    expect(await first.get(key.userId)).toEqual({ ...key, masterKeyId: 'mk-2', wrapped: 'wrapped-again' });
    // A second rotation working from the old read loses.
    expect(await first.rewrap(key, 'mk-3', 'stale')).toBe(false);
    await first.destroy(key.userId);
    const replacement = await first.create(keyFor(key.userId));
    expect(await last.rewrap({ ...key, masterKeyId: 'mk-2' }, 'mk-3', 'stale')).toBe(false);
    expect(await first.get(key.userId)).toEqual(replacement);
  });

  it('destroys a key for every instance, and says whether there was one', async () => {
    const key = await first.create(keyFor(`${run}-u1`));
    const other = await first.create(keyFor(`${run}-u2`));
    expect(await last.destroy(key.userId)).toBe(true);
    expect(await first.get(key.userId)).toBeNull();
    expect(await first.destroy(key.userId)).toBe(false);
    expect(await first.get(other.userId)).toEqual(other);
  });

  it('lists keys in user id order, a page at a time', async () => {
    const users = Array.from({ length: 7 }, (_, i) => `${run}-user-${i}`);
    for (const userId of [...users].reverse()) await first.create(keyFor(userId));
    const seen: string[] = [];
    let after: string | null = `${run}-`;
    for (;;) {
      const page: WrappedDataKey[] = await last.list(after, 3);
      seen.push(...page.map((key) => key.userId).filter((userId) => userId.startsWith(run)));
      if (page.length < 3) break;
      after = page[page.length - 1].userId;
    }
    expect(seen).toEqual(users);
    expect((await first.list(null, 1000)).map((key) => key.userId)).toEqual(expect.arrayContaining(users));
  });
}
