import { InvalidToken, TokenService } from '../../src/shared/auth/tokens';

describe('token verification, remembered per token', () => {
  let now: number;
  let tokens: TokenService;
  beforeEach(() => {
    now = Date.now();
    tokens = new TokenService('a-secret-long-enough-for-hs256-0123456789', () => now);
  });

  it('still refuses a remembered token once its exp has passed', async () => {
    const token = await tokens.issue({ userId: 'u1', role: 'customer' }, 60);
    await expect(tokens.verify(token)).resolves.toEqual({ userId: 'u1', role: 'customer' });
    now += 61_000;
    await expect(tokens.verify(token)).rejects.toThrow(new InvalidToken('the token has expired'));
  });

  it('trusts only the exact token that passed: a changed payload with the old signature is refused', async () => {
    const token = await tokens.issue({ userId: 'u1', role: 'customer' }, 60);
    await tokens.verify(token);
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'u1', role: 'admin', exp: Math.floor(now / 1000) + 60 })).toString('base64url');
    await expect(tokens.verify(`${header}.${payload}.${signature}`)).rejects.toBeInstanceOf(InvalidToken);
  });

  it('refuses a token signed with another secret even after a good one was seen', async () => {
    const other = new TokenService('another-secret-long-enough-for-hs256-0123');
    await tokens.verify(await tokens.issue({ userId: 'u1', role: 'customer' }));
    await expect(tokens.verify(await other.issue({ userId: 'u1', role: 'customer' }))).rejects.toBeInstanceOf(InvalidToken);
  });
});
