import { createHash } from 'node:crypto';

export interface MasterKey {
  /** A fingerprint, not the key: stored beside each wrapped data key to say which master opens it. */
  readonly id: string;
  readonly key: Buffer;
}

const toMasterKey = (key: Buffer): MasterKey => {
  if (key.length !== 32) throw new Error('a master key must be 32 bytes (AES-256)');
  return { id: `mk-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`, key };
};

/**
 * The master keys that wrap per-user data keys: the current one (PAYER_KEY) wraps new keys and
 * re-wrapped ones; previous ones (PAYER_KEY_PREVIOUS) only unwrap keys not yet re-wrapped.
 */
export class MasterKeyRing {
  readonly current: MasterKey;
  private readonly byId: ReadonlyMap<string, MasterKey>;

  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    this.current = toMasterKey(current);
    this.byId = new Map([...previous.map(toMasterKey), this.current].map((master) => [master.id, master]));
  }

  find(id: string): MasterKey | undefined {
    return this.byId.get(id);
  }
}
