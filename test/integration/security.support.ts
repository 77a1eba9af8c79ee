/** A small shop with one customer's data in it, and what the security suites send to it. */
import { generateKeyPair, SignJWT } from 'jose';
import { createHmac } from 'node:crypto';
import { request as rawRequest } from 'node:http';
import type { ZodType } from 'zod';
import { RouteDefinition } from '../../src/shared/http/route';
import { bearer, TEST_JWT_SECRET, TestApp } from '../support/app';

export const PAYER = { name: 'Shin Haerin', phone: '010-7345-9921', email: 'haerin.shin@example.org' };

export interface Shop {
  readonly admin: string;
  readonly customerA: string;
  readonly customerB: string;
  readonly productId: string;
  readonly couponId: string;
  /** Customer A's: a paid order with a payer, a user coupon, point history. */
  readonly orderId: string;
  readonly userCouponId: string;
  /** Where the log was once the seed was written: reads wait for it. */
  readonly position: string;
}

export const USER_A = 'sec-alice';
export const USER_B = 'sec-bob';
export const ADMIN = 'sec-admin';
/** Customer A's charge: a number nobody else's data contains, so seeing it elsewhere is a leak. */
export const A_CHARGE = 77_777;

export async function seedShop(t: TestApp): Promise<Shop> {
  const [admin, customerA, customerB] = [await t.tokenFor(ADMIN, 'admin'), await t.tokenFor(USER_A), await t.tokenFor(USER_B)];
  const ok = async (status: number, req: PromiseLike<{ status: number; body: Record<string, unknown> }>) => {
    const res = await req;
    if (res.status !== status) throw new Error(`seeding failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as Record<string, string>;
  };
  const product = await ok(201, t.http().post('/admin/products').set(bearer(admin)).send({ name: 'Lamp', price: 1_000, stock: 100 }));
  const coupon = await ok(201, t.http().post('/admin/coupons').set(bearer(admin)).send({ name: 'Ten off', discount: { type: 'FIXED', amount: 10 }, totalQuantity: 50 }));
  await ok(200, t.http().post('/me/points/charge').set(bearer(customerA)).send({ amount: A_CHARGE }));
  const issued = await ok(201, t.http().post(`/coupons/${coupon.couponId}/issue`).set(bearer(customerA)));
  const order = await ok(
    201,
    t.http().post('/checkout').set(bearer(customerA)).send({ items: [{ productId: product.id, quantity: 2 }], userCouponId: issued.userCouponId, payer: PAYER }),
  );
  return {
    admin,
    customerA,
    customerB,
    productId: product.id,
    couponId: coupon.couponId,
    orderId: order.orderId,
    userCouponId: issued.userCouponId,
    position: order.position,
  };
}

/** A value for each path parameter, by name (and, for the two kinds of {id}, by route). */
export function pathFor(route: Pick<RouteDefinition, 'path'>, shop: Shop, overrides: Record<string, string> = {}): string {
  const values: Record<string, string> = {
    orderId: shop.orderId,
    couponId: shop.couponId,
    id: route.path.includes('/deliveries/') ? 'no-such-delivery' : shop.productId,
    stream: `wallet-${USER_A}`,
    name: 'no-such-projection',
    userId: 'sec-bystander',
    ...overrides,
  };
  return route.path.replace(/\{(\w+)\}/g, (_match, name: string) => {
    if (!(name in values)) throw new Error(`no test value for the path parameter {${name}} of ${route.path}: add one`);
    return encodeURIComponent(values[name]);
  });
}

/** A body each write route accepts, so that a request gets past validation to the rules it is about. */
export function validBody(route: Pick<RouteDefinition, 'method' | 'path'>, shop: Shop): Record<string, unknown> | undefined {
  const bodies: Record<string, Record<string, unknown>> = {
    'POST /me/points/charge': { amount: 1 },
    'POST /admin/products': { name: 'Another lamp', price: 500, stock: 5 },
    'PATCH /admin/products/{id}': { price: 900 },
    'POST /admin/products/{id}/restock': { quantity: 1 },
    'POST /admin/coupons': { name: 'Five off', discount: { type: 'FIXED', amount: 5 }, totalQuantity: 5 },
    'POST /orders': { items: [{ productId: shop.productId, quantity: 1 }] },
    'POST /orders/{orderId}/payment': { payer: PAYER },
    'POST /checkout': { items: [{ productId: shop.productId, quantity: 1 }], payer: PAYER },
    'POST /auth/dev-token': { userId: 'sec-minted', role: 'customer' },
  };
  return bodies[`${route.method.toUpperCase()} ${route.path}`];
}

export type Send = (method: string, url: string) => import('supertest').Test;
/** The OpenAPI document and the route list name methods in lower case, as supertest's agent does. */
export const sender = (t: TestApp): Send => (method, url) => t.http()[method as RouteDefinition['method']](url);

const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** Tokens that must never be accepted, each for customer A. */
export async function forgedTokens(validA: string): Promise<Record<string, string>> {
  const claims = { sub: USER_A, role: 'customer', exp: inAnHour() };
  const rsa = await generateKeyPair('RS256');
  const hmacSigned = (header: object) => {
    const unsigned = `${b64(header)}.${b64(claims)}`;
    return `${unsigned}.${createHmac('sha256', TEST_JWT_SECRET).update(unsigned).digest('base64url')}`;
  };
  const [head, payload, signature] = validA.split('.');
  return {
    expired: await new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS256' }).setSubject(USER_A).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(secret),
    'bad signature': `${head}.${payload}.${signature.slice(0, -4)}${signature.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`,
    'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
    'HS512 with the right secret': await new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'HS512' }).setSubject(USER_A).setExpirationTime('1h').sign(secret),
    'RS256 from some key pair': await new SignJWT({ role: 'customer' }).setProtectedHeader({ alg: 'RS256' }).setSubject(USER_A).setExpirationTime('1h').sign(rsa.privateKey),
    'RS256 header, HMAC-signed with the secret': hmacSigned({ alg: 'RS256', typ: 'JWT' }),
    'admin role claimed without a signature': `${b64({ alg: 'none' })}.${b64({ ...claims, role: 'admin' })}.`,
  };
}

type Def = { type: string; [key: string]: unknown };
/** zod 4 keeps a schema's definition here; the checks below walk it. */
export const defOf = (schema: ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The field names an object body schema declares. */
export function declaredFields(schema: ZodType | undefined): string[] {
  if (!schema) return [];
  const def = defOf(schema);
  if (def.type === 'object') return Object.keys(def.shape as object);
  if (def.type === 'pipe') return declaredFields(def.in as ZodType);
  return [];
}

/** A request sent byte for byte as given (supertest would re-encode a Buffer body as JSON). */
export function sendRaw(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; type: string; body: Record<string, unknown> | null }> {
  return new Promise((resolve, reject) => {
    const req = rawRequest(`${baseUrl}${path}`, { method, headers: body ? { ...headers, 'Content-Length': String(body.length) } : headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> | null = null;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // Not JSON: the caller sees null and the content type.
        }
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
