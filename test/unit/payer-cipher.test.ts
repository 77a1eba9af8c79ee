import { randomBytes } from 'node:crypto';
import { PayerCipher } from '../../src/shared/crypto/payer';

const payer = { name: 'Kim Minji', phone: '010-1234-5678', email: 'minji@example.com' };

describe('payer cipher', () => {
  const cipher = new PayerCipher(randomBytes(32));

  it('opens what it sealed, for the same user', () => {
    expect(cipher.open('u1', cipher.seal('u1', payer))).toEqual(payer);
  });

  it('never shows the clear text and uses a fresh nonce each time', () => {
    const a = cipher.seal('u1', payer);
    const b = cipher.seal('u1', payer);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    const raw = Buffer.from(a.ciphertext, 'base64').toString('latin1');
    expect(raw).not.toContain('010-1234-5678');
    expect(JSON.stringify(a)).not.toContain('minji@example.com');
  });

  it("does not open for another user (the user id is bound in)", () => {
    expect(cipher.open('u2', cipher.seal('u1', payer))).toBeNull();
  });

  it('detects tampering', () => {
    const sealed = cipher.seal('u1', payer);
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    raw[raw.length - 1] ^= 1;
    expect(cipher.open('u1', { ...sealed, ciphertext: raw.toString('base64') })).toBeNull();
  });

  it('does not open what another key sealed', () => {
    expect(new PayerCipher(randomBytes(32)).open('u1', cipher.seal('u1', payer))).toBeNull();
  });
});
