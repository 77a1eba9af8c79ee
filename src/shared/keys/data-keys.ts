import { randomBytes } from 'node:crypto';
import { open, seal } from '../crypto/aead';
import { MasterKeyRing } from '../crypto/master-keys';
import { DataKeyStore, WrappedDataKey } from './port';

export interface DataKey {
  readonly keyId: string;
  readonly key: Buffer;
}

export interface RewrapReport {
  /** The master key every readable data key is now wrapped with. */
  readonly masterKeyId: string;
  readonly rewrapped: number;
  readonly alreadyCurrent: number;
  /** Wrapped by a master key that is neither PAYER_KEY nor in PAYER_KEY_PREVIOUS: left as they are. */
  readonly unreadable: number;
}

/** Thrown when a stored data key cannot be unwrapped: a configuration fault, never a reason to make a new key. */
export class DataKeyUnavailable extends Error {
  constructor(key: WrappedDataKey, why: string) {
    super(`the data key ${key.keyId} cannot be unwrapped: ${why}`);
    this.name = 'DataKeyUnavailable';
  }
}

const REWRAP_PAGE = 500;

/**
 * Per-user data keys (envelope encryption): each user's payment data is sealed with that user's
 * own random key, and only the wrapped key is stored. Rotating the master key re-wraps the small
 * keys, never the data; destroying one user's key shreds that user's data alone.
 *
 * Keys are read from the store on every use, not cached: a destroyed key must stop opening
 * anything at once, in every process.
 */
export class DataKeys {
  constructor(
    private readonly store: DataKeyStore,
    private readonly masters: MasterKeyRing,
  ) {}

  /** The user's key, made on first use. */
  async forSealing(userId: string): Promise<DataKey> {
    const stored = (await this.store.get(userId)) ?? (await this.store.create(this.newKey(userId)));
    return { keyId: stored.keyId, key: this.unwrap(stored) };
  }

  /** The key named `keyId` if it is still the user's; null once it was destroyed. */
  async forOpening(userId: string, keyId: string): Promise<Buffer | null> {
    const stored = await this.store.get(userId);
    return stored && stored.keyId === keyId ? this.unwrap(stored) : null;
  }

  /** The id of the user's key, or null when the user has none. */
  async currentKeyId(userId: string): Promise<string | null> {
    return (await this.store.get(userId))?.keyId ?? null;
  }

  destroy(userId: string): Promise<boolean> {
    return this.store.destroy(userId);
  }

  /**
   * Re-wraps every data key that is not under the current master key. Safe to run again and
   * beside live traffic: each key is replaced only if it is still stored as it was read.
   */
  async rewrapAll(): Promise<RewrapReport> {
    const current = this.masters.current;
    let rewrapped = 0;
    let alreadyCurrent = 0;
    let unreadable = 0;
    let after: string | null = null;
    for (;;) {
      const page: WrappedDataKey[] = await this.store.list(after, REWRAP_PAGE);
      for (const stored of page) {
        if (stored.masterKeyId === current.id) {
          alreadyCurrent += 1;
          continue;
        }
        const key = this.unwrapOrNull(stored);
        if (!key) {
          unreadable += 1;
          continue;
        }
        if (await this.store.rewrap(stored, current.id, this.wrap(stored.userId, stored.keyId, key))) rewrapped += 1;
      }
      if (page.length < REWRAP_PAGE) break;
      after = page[page.length - 1].userId;
    }
    return { masterKeyId: current.id, rewrapped, alreadyCurrent, unreadable };
  }

  private newKey(userId: string): WrappedDataKey {
    const keyId = `dk-${randomBytes(12).toString('hex')}`;
    return { userId, keyId, masterKeyId: this.masters.current.id, wrapped: this.wrap(userId, keyId, randomBytes(32)) };
  }

  /** Bound to the user and the key id, so a wrapped key copied onto another row does not unwrap. */
  private wrap(userId: string, keyId: string, key: Buffer): string {
    return seal(this.masters.current.key, key, `${userId}\u0000${keyId}`).toString('base64');
  }

  private unwrap(stored: WrappedDataKey): Buffer {
    const master = this.masters.find(stored.masterKeyId);
    if (!master) throw new DataKeyUnavailable(stored, `its master key ${stored.masterKeyId} is neither PAYER_KEY nor in PAYER_KEY_PREVIOUS`);
    const key = open(master.key, Buffer.from(stored.wrapped, 'base64'), `${stored.userId}\u0000${stored.keyId}`);
    if (!key) throw new DataKeyUnavailable(stored, 'it does not authenticate (altered in the store)');
    return key;
  }

  private unwrapOrNull(stored: WrappedDataKey): Buffer | null {
    try {
      return this.unwrap(stored);
    } catch (error) {
      if (error instanceof DataKeyUnavailable) return null;
      throw error;
    }
  }
}
