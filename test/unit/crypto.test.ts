import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/shared/config';
import { open, seal } from '../../src/shared/crypto/aead';
import { MasterKeyRing } from '../../src/shared/crypto/master-keys';
import { PayerCipher } from '../../src/shared/crypto/payer';
import { DataKeys, DataKeyUnavailable } from '../../src/shared/keys/data-keys';
import { SqliteDataKeyStore } from '../../src/shared/keys/sqlite';

const payer = { name: 'Kim Minji', phone: '010-1234-5678', email: 'minji@example.com' };

describe('AES-256-GCM values', () => {
  const key = randomBytes(32);
  const clear = Buffer.from('hello, payer');

  it('opens what it sealed, with the same key and context', () => {
    expect(open(key, seal(key, clear, 'u1'), 'u1')).toEqual(clear);
  });

  it('uses a fresh nonce each time', () => {
    expect(seal(key, clear, 'u1').equals(seal(key, clear, 'u1'))).toBe(false);
  });

  it.each([
    ['the nonce', 0],
    ['the tag', 12],
    ['the ciphertext', 28],
  ])('detects a flipped bit in %s', (_where, offset) => {
    const sealed = seal(key, clear, 'u1');
    sealed[offset] ^= 1;
    expect(open(key, sealed, 'u1')).toBeNull();
  });

  it('does not open with another context, another key, or when cut short', () => {
    const sealed = seal(key, clear, 'u1');
    expect(open(key, sealed, 'u2')).toBeNull();
    expect(open(randomBytes(32), sealed, 'u1')).toBeNull();
    expect(open(key, sealed.subarray(0, 20), 'u1')).toBeNull();
  });
});

describe('payer data under per-user data keys', () => {
  let store: SqliteDataKeyStore;
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const cipherWith = (current: Buffer, previous: Buffer[] = []) => new PayerCipher(new DataKeys(store, new MasterKeyRing(current, previous)));

  beforeEach(() => {
    store = new SqliteDataKeyStore(':memory:');
  });
  afterEach(() => store.close());

  it('round-trips for the owner, names the data key, and never shows the clear text', async () => {
    const cipher = cipherWith(k1);
    const sealed = await cipher.seal('u1', payer);
    expect(sealed.keyId).toBe((await store.get('u1'))!.keyId);
    expect(await cipher.open('u1', sealed)).toEqual(payer);
    const raw = Buffer.from(sealed.ciphertext, 'base64').toString('latin1');
    for (const field of Object.values(payer)) expect(raw + JSON.stringify(sealed)).not.toContain(field);
  });

  it('gives each user their own key, and one user one key however many values', async () => {
    const cipher = cipherWith(k1);
    const [a1, a2, b] = [await cipher.seal('u1', payer), await cipher.seal('u1', payer), await cipher.seal('u2', payer)];
    expect(a1.keyId).toBe(a2.keyId);
    expect(a1.ciphertext).not.toBe(a2.ciphertext);
    expect(b.keyId).not.toBe(a1.keyId);
  });

  it('hands concurrent first uses for one user the same key', async () => {
    const keys = new DataKeys(store, new MasterKeyRing(k1));
    const all = await Promise.all(Array.from({ length: 20 }, () => keys.forSealing('fresh')));
    expect(new Set(all.map((k) => k.keyId)).size).toBe(1);
    expect(new Set(all.map((k) => k.key.toString('hex'))).size).toBe(1);
  });

  it("does not open another user's value, nor an altered one", async () => {
    const cipher = cipherWith(k1);
    const sealed = await cipher.seal('u1', payer);
    await cipher.seal('u2', payer);
    expect(await cipher.open('u2', sealed)).toBeNull();
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    raw[raw.length - 1] ^= 1;
    expect(await cipher.open('u1', { ...sealed, ciphertext: raw.toString('base64') })).toBeNull();
  });

  it('keeps the master key out of the store, and a wrapped key copied onto another user does not unwrap', async () => {
    const cipher = cipherWith(k1);
    await cipher.seal('u1', payer);
    await cipher.seal('u2', payer);
    const u1 = (await store.get('u1'))!;
    expect(u1.wrapped).not.toContain(k1.toString('base64'));
    await store.destroy('u2');
    await store.create({ ...u1, userId: 'u2' });
    await expect(new DataKeys(store, new MasterKeyRing(k1)).forSealing('u2')).rejects.toThrow(DataKeyUnavailable);
  });

  it('rotates the master key: old data opens through PAYER_KEY_PREVIOUS, re-wrapping moves every key, then the old master can go', async () => {
    const before = cipherWith(k1);
    const sealed = await Promise.all(['a', 'b', 'c'].map(async (user) => [user, await before.seal(user, payer)] as const));

    const rotated = cipherWith(k2, [k1]);
    for (const [user, value] of sealed) expect(await rotated.open(user, value)).toEqual(payer);
    // Without the previous key nothing can be unwrapped yet, and that is loud, not a silent null.
    await expect(cipherWith(k2).open('a', sealed[0][1])).rejects.toThrow(DataKeyUnavailable);

    const keys = new DataKeys(store, new MasterKeyRing(k2, [k1]));
    expect(await keys.rewrapAll()).toEqual({ masterKeyId: new MasterKeyRing(k2).current.id, rewrapped: 3, alreadyCurrent: 0, unreadable: 0 });
    expect(await keys.rewrapAll()).toMatchObject({ rewrapped: 0, alreadyCurrent: 3 });

    const after = cipherWith(k2);
    for (const [user, value] of sealed) expect(await after.open(user, value)).toEqual(payer);
    expect(await after.open('a', await after.seal('a', payer))).toEqual(payer);
  });

  it('counts keys whose master is not configured as unreadable and leaves them alone', async () => {
    await cipherWith(k1).seal('a', payer);
    const stored = await store.get('a');
    expect(await new DataKeys(store, new MasterKeyRing(k2)).rewrapAll()).toMatchObject({ rewrapped: 0, unreadable: 1 });
    expect(await store.get('a')).toEqual(stored);
  });

  it('re-wraps page after page', async () => {
    const keys = new DataKeys(store, new MasterKeyRing(k1));
    await Promise.all(Array.from({ length: 1_234 }, (_, i) => keys.forSealing(`user-${i}`)));
    expect(await new DataKeys(store, new MasterKeyRing(k2, [k1])).rewrapAll()).toMatchObject({ rewrapped: 1_234 });
  });

  it('shreds: once the key is destroyed the value stays unreadable, and the user gets a new key', async () => {
    const keys = new DataKeys(store, new MasterKeyRing(k1));
    const cipher = new PayerCipher(keys);
    const old = await cipher.seal('u1', payer);
    expect(await keys.destroy('u1')).toBe(true);
    expect(await cipher.open('u1', old)).toBeNull();
    const fresh = await cipher.seal('u1', payer);
    expect(fresh.keyId).not.toBe(old.keyId);
    expect(await cipher.open('u1', fresh)).toEqual(payer);
    expect(await cipher.open('u1', old)).toBeNull();
  });
});

describe('master key configuration', () => {
  it('reads PAYER_KEY_PREVIOUS as a comma-separated list and refuses a key that is not 32 bytes', () => {
    const [a, b] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    expect(loadConfig({ PAYER_KEY_PREVIOUS: ` ${a}, ${b},` }).PAYER_KEY_PREVIOUS).toEqual([a, b]);
    expect(loadConfig({}).PAYER_KEY_PREVIOUS).toEqual([]);
    expect(() => loadConfig({ PAYER_KEY_PREVIOUS: `${a},c2hvcnQ=` })).toThrow(ConfigError);
    expect(() => loadConfig({ PAYER_KEY_PREVIOUS: `${a},c2hvcnQ=` })).toThrow('PAYER_KEY_PREVIOUS');
  });

  it('names each master key by a fingerprint that does not show the key', () => {
    const key = randomBytes(32);
    const ring = new MasterKeyRing(key, [randomBytes(32)]);
    expect(ring.current.id).toMatch(/^mk-[0-9a-f]{16}$/);
    expect(ring.current.id).not.toContain(key.toString('hex').slice(0, 16));
    expect(ring.find(ring.current.id)?.key).toBe(key);
    expect(() => new MasterKeyRing(randomBytes(16))).toThrow('32 bytes');
  });
});
