import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SealedPayer } from '../../write/order/events';

export interface Payer {
  readonly name: string;
  readonly phone: string;
  readonly email: string;
}

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Payment personal data is sealed before it enters any event or read model: AES-256-GCM with a
 * fresh nonce per value and the owner's user id as associated data, so a ciphertext moved onto
 * another user's order does not open. The key id travels with the ciphertext so keys can rotate.
 */
export class PayerCipher {
  private readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the payer key must be 32 bytes (AES-256)');
    // A fingerprint, not the key: lets a reader tell which key sealed a value.
    this.keyId = `k-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
  }

  seal(userId: string, payer: Payer): SealedPayer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(userId, 'utf8'));
    const body = Buffer.concat([cipher.update(JSON.stringify(payer), 'utf8'), cipher.final()]);
    return { keyId: this.keyId, ciphertext: Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64') };
  }

  /** Null when the value was sealed with another key or for another user, or was tampered with. */
  open(userId: string, sealed: SealedPayer): Payer | null {
    if (sealed.keyId !== this.keyId) return null;
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(userId, 'utf8'));
      decipher.setAuthTag(raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
      const clear = Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(clear.toString('utf8')) as Payer;
    } catch {
      return null;
    }
  }
}
