import { SignJWT } from 'jose';
import { InvalidToken, TokenService } from '../../src/shared/auth/tokens';

const SECRET = 'a-secret-long-enough-for-hs256-0123456789';

describe('token verification, remembered per token', () => {
  let now: number;
  let tokens: TokenService;
  beforeEach(() => {
    now = Date.now();
    tokens = new TokenService(SECRET, undefined, () => now);
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

describe('token lifetime, issuer and audience', () => {
  const now = Date.UTC(2026, 11, 4, 12);
  const seconds = Math.floor(now / 1000);
  const sign = (claims: Record<string, unknown>) => new SignJWT({ sub: 'u1', role: 'admin', ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
  const service = (policy: ConstructorParameters<typeof TokenService>[1], at = now) => new TokenService(SECRET, policy, () => at);
  const day = { maxTokenAgeSeconds: 24 * 3600 };

  it('refuses a token whose exp is in the year 9999 once it is older than the maximum age', async () => {
    const token = await sign({ iat: seconds, exp: 253_402_300_799 });
    await expect(service(day).verify(token)).resolves.toEqual({ userId: 'u1', role: 'admin' });
    await expect(service(day, now + 24 * 3600_000 + 1_000).verify(token)).rejects.toBeInstanceOf(InvalidToken);
  });

  it('forgets a remembered token once it is older than the maximum age', async () => {
    let at = now;
    const tokens = new TokenService(SECRET, day, () => at);
    const token = await sign({ iat: seconds, exp: 253_402_300_799 });
    await tokens.verify(token);
    at += 24 * 3600_000 + 1_000;
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(InvalidToken);
  });

  it('refuses a token without iat, or with an iat in the future', async () => {
    await expect(service(day).verify(await sign({ exp: seconds + 60 }))).rejects.toBeInstanceOf(InvalidToken);
    await expect(service(day).verify(await sign({ iat: seconds + 3600, exp: seconds + 7200 }))).rejects.toBeInstanceOf(InvalidToken);
  });

  it('issues no token that outlives the maximum age', async () => {
    const token = await service({ maxTokenAgeSeconds: 600 }).issue({ userId: 'u1', role: 'customer' }, 12 * 3600);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(600);
  });

  it('checks issuer and audience when set, and puts them into the tokens it issues', async () => {
    const policy = { ...day, issuer: 'https://id.eventmart.dev', audience: 'eventmart-api' };
    const strict = service(policy);
    const own = await strict.issue({ userId: 'u1', role: 'customer' });
    await expect(strict.verify(own)).resolves.toEqual({ userId: 'u1', role: 'customer' });
    await expect(strict.verify(await sign({ iat: seconds, exp: seconds + 60 }))).rejects.toBeInstanceOf(InvalidToken);
    await expect(strict.verify(await sign({ iat: seconds, exp: seconds + 60, iss: policy.issuer, aud: 'another-api' }))).rejects.toBeInstanceOf(InvalidToken);
    await expect(strict.verify(await sign({ iat: seconds, exp: seconds + 60, iss: 'https://elsewhere', aud: policy.audience }))).rejects.toBeInstanceOf(InvalidToken);
    // Without the settings, neither claim is required.
    await expect(service(day).verify(await sign({ iat: seconds, exp: seconds + 60 }))).resolves.toEqual({ userId: 'u1', role: 'admin' });
  });
});
