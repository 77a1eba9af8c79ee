import { createSecretKey, KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

export const ROLES = ['customer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly userId: string;
  readonly role: Role;
}

/** User ids end up in stream names and keys, so they are kept to a plain, bounded alphabet. */
export const userIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.@-]+$/, 'letters, digits and _ . @ - only');

const claimsSchema = z.object({ sub: userIdSchema, role: z.enum(ROLES) });

export class InvalidToken extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidToken';
  }
}

/** Distinct tokens remembered as verified: about one per active client. */
const VERIFIED_MAX = 50_000;

/** The longest a token is accepted after its `iat`, whatever its `exp` says (JWT_MAX_TOKEN_AGE_HOURS). */
export const DEFAULT_MAX_TOKEN_AGE_HOURS = 24;
/** What the dev-token route mints, at most. */
const DEV_TOKEN_SECONDS = 12 * 3600;

export interface TokenPolicy {
  readonly maxTokenAgeSeconds: number;
  /** Checked when set (deployments that share a key), and written into the tokens this service issues. */
  readonly issuer?: string;
  readonly audience?: string;
}

interface Verified {
  readonly principal: Principal;
  /** When the token stops being accepted, in ms: its `exp` or its `iat` plus the maximum age, whichever is sooner. */
  readonly expiresAt: number;
}

/**
 * HS256 only: `alg: none` and every other algorithm are refused by jose before the signature is read.
 * A token must carry `iat` and is refused once older than the maximum age, so one minted with
 * an `exp` in the year 9999 lives no longer than any other.
 *
 * A client sends the same token with every request, and checking it (HMAC, base64, JSON, claims,
 * a key object) was a few per cent of a points charge in its CPU profile. So a verified token
 * is remembered until it expires: the whole token string is the key, so only the very bytes
 * that passed verification are trusted again.
 */
export class TokenService {
  /** A key object made once: given raw bytes, jose makes one for every token it checks. */
  private readonly key: KeyObject;
  private readonly verified = new LRUCache<string, Verified>({ max: VERIFIED_MAX });

  constructor(
    secret: string,
    private readonly policy: TokenPolicy = { maxTokenAgeSeconds: DEFAULT_MAX_TOKEN_AGE_HOURS * 3600 },
    private readonly now: () => number = Date.now,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** Who this very token proved to be, if it was verified here and has not expired since; no checking, no I/O. */
  known(token: string): Principal | undefined {
    const known = this.verified.get(token);
    if (known === undefined) return undefined;
    if (known.expiresAt > this.now()) return known.principal;
    this.verified.delete(token);
    return undefined;
  }

  /** Never longer-lived than the maximum age allows. */
  async issue(principal: Principal, ttlSeconds = DEV_TOKEN_SECONDS): Promise<string> {
    const issuedAt = Math.floor(this.now() / 1000);
    const jwt = new SignJWT({ role: principal.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(principal.userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + Math.min(ttlSeconds, this.policy.maxTokenAgeSeconds));
    if (this.policy.issuer) jwt.setIssuer(this.policy.issuer);
    if (this.policy.audience) jwt.setAudience(this.policy.audience);
    return jwt.sign(this.key);
  }

  async verify(token: string): Promise<Principal> {
    const known = this.known(token);
    if (known) return known;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: this.policy.maxTokenAgeSeconds,
        issuer: this.policy.issuer,
        audience: this.policy.audience,
        currentDate: new Date(this.now()),
      });
      const claims = claimsSchema.safeParse(payload);
      if (!claims.success) throw new InvalidToken('the token lacks a valid sub or role');
      const principal: Principal = { userId: claims.data.sub, role: claims.data.role };
      this.verified.set(token, { principal, expiresAt: Math.min(payload.exp!, payload.iat! + this.policy.maxTokenAgeSeconds) * 1000 });
      return principal;
    } catch (error) {
      if (error instanceof InvalidToken) throw error;
      if (error instanceof joseErrors.JWTExpired) throw new InvalidToken('the token has expired');
      throw new InvalidToken('the token is not valid');
    }
  }
}
