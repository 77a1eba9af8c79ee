import { DataKeys } from '../keys/data-keys';
import { open, seal } from './aead';

/** Payer data as events and read models store it: only ever ciphertext. */
export interface SealedPayer {
  readonly keyId: string;
  readonly ciphertext: string;
}

export interface Payer {
  readonly name: string;
  readonly phone: string;
  readonly email: string;
}

/**
 * Payment personal data is sealed before it enters any event or read model: AES-256-GCM under
 * the owner's own data key, a fresh nonce per value, the owner's user id as associated data (a
 * ciphertext moved onto another user's order does not open), and the data key's id beside the
 * ciphertext.
 */
export class PayerCipher {
  constructor(private readonly keys: DataKeys) {}

  async seal(userId: string, payer: Payer): Promise<SealedPayer> {
    const { keyId, key } = await this.keys.forSealing(userId);
    return { keyId, ciphertext: seal(key, Buffer.from(JSON.stringify(payer), 'utf8'), userId).toString('base64') };
  }

  /** Null once the user's key was destroyed (payment data forgotten), or for another user's or an altered value. */
  async open(userId: string, sealed: SealedPayer): Promise<Payer | null> {
    const key = await this.keys.forOpening(userId, sealed.keyId);
    const clear = key && open(key, Buffer.from(sealed.ciphertext, 'base64'), userId);
    return clear ? (JSON.parse(clear.toString('utf8')) as Payer) : null;
  }
}
