/**
 * Where per-user data keys are kept, wrapped (sealed) by a master key. The store never sees a
 * key in clear. It is the one place a user's payment data can be destroyed for good: deleting
 * the key leaves every value it sealed unreadable (crypto-shredding), while the events that
 * carry those values stay as they are.
 *
 * Kept small so that another engine can back it: a row per user, insert-if-absent, a
 * compare-and-set to re-wrap, delete, and a scan in user id order.
 */
export interface WrappedDataKey {
  readonly userId: string;
  /** Random; named by every value the key sealed. A key made after one was destroyed gets a new id. */
  readonly keyId: string;
  /** Which master key wrapped it (see MasterKeyRing). */
  readonly masterKeyId: string;
  /** The data key sealed with that master key, base64. */
  readonly wrapped: string;
}

export interface DataKeyStore {
  readonly adapterName: string;
  get(userId: string): Promise<WrappedDataKey | null>;
  /** Stores `key` unless the user already has one, and returns the user's key either way (the first writer wins). */
  create(key: WrappedDataKey): Promise<WrappedDataKey>;
  /** Replaces the wrapping of `current` if it is still stored as it was; false when it changed or was destroyed meanwhile. */
  rewrap(current: WrappedDataKey, masterKeyId: string, wrapped: string): Promise<boolean>;
  /** Deletes the user's key so that no copy is left in the store; false when there was none. */
  destroy(userId: string): Promise<boolean>;
  /** Up to `limit` keys with user ids after `afterUserId` (null: from the start), in user id order. */
  list(afterUserId: string | null, limit: number): Promise<WrappedDataKey[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
