import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response, Router } from 'express';
import { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z, ZodType } from 'zod';
import { InvalidToken, Principal, TokenService } from '../auth/tokens';
import { IdempotencyStore, StoredResponse } from '../idempotency/port';
import { Config } from '../config';
import { errorToProblem } from './errors';
import { HttpProblem } from './problem';
import { problemSchema } from './schemas';

/** public: anyone; user: any valid token (customers and admins alike); admin: the admin role. */
export type Access = 'public' | 'user' | 'admin';

export interface RouteInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly user: Principal | undefined;
  /** Seeds deterministic event ids when the request carries an Idempotency-Key. */
  readonly idSeed: string | undefined;
}

export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
}

export interface RouteDefinition<P = unknown, Q = unknown, B = unknown> {
  readonly method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI style: /products/{id}. */
  readonly path: string;
  readonly summary: string;
  readonly tags: readonly string[];
  readonly access: Access;
  readonly params?: ZodType<P>;
  readonly query?: ZodType<Q>;
  readonly body?: ZodType<B>;
  readonly response: { readonly status: number; readonly description: string; readonly schema: ZodType };
  /** Business error codes by status, for the documentation. */
  readonly errors?: Readonly<Record<number, readonly string[]>>;
  /** A state-changing POST: honours Idempotency-Key. */
  readonly idempotent?: boolean;
  /** Projections this read depends on: X-Consistent-With waits for them. */
  readonly readsFrom?: readonly string[];
  readonly handle: (input: RouteInput<P, Q, B>) => Promise<RouteResult>;
}

/** Keeps each route's types checked while letting a module export a list of differently typed routes. */
export const defineRoute = <P = undefined, Q = undefined, B = undefined>(route: RouteDefinition<P, Q, B>) =>
  route as unknown as RouteDefinition;

export interface RouteRuntime {
  readonly config: Config;
  readonly tokens: TokenService;
  readonly idempotency: IdempotencyStore;
  readonly waitForProjections: (projections: readonly string[], position: string) => Promise<void>;
}

const IDEMPOTENCY_IN_FLIGHT_MS = 60_000;

const idempotencyKeySchema = z.string().min(1).max(255);
const positionSchema = z.string().min(1).max(64).regex(/^[0-9/]+$/);

export function mountRoute(router: Router, registry: OpenAPIRegistry, route: RouteDefinition, runtime: RouteRuntime): void {
  document(registry, route);
  const expressPath = route.path.replace(/\{(\w+)\}/g, ':$1');
  const handler: RequestHandler = async (req, res) => {
    const user = await authenticate(req, route.access, runtime.tokens);
    const params = parse(route.params, req.params, 'path');
    const query = parse(route.query, req.query, 'query');
    const body = parse(route.body, req.body ?? {}, 'body');
    if (route.readsFrom) await waitIfAsked(req, route.readsFrom, runtime);
    const run = (idSeed: string | undefined) => route.handle({ params, query, body, user, idSeed });
    const result = route.idempotent ? await runIdempotently(req, res, user, run, runtime) : await run(undefined);
    if (result) res.status(result.status).json(result.body);
  };
  router[route.method](expressPath, handler);
}

async function authenticate(req: Request, access: Access, tokens: TokenService): Promise<Principal | undefined> {
  if (access === 'public') return undefined;
  const header = req.header('authorization');
  const match = header?.match(/^Bearer ([A-Za-z0-9._~+/=-]+)$/);
  if (!match) throw new HttpProblem(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <token>', {}, { 'WWW-Authenticate': 'Bearer' });
  let principal: Principal;
  try {
    principal = await tokens.verify(match[1]);
  } catch (error) {
    if (!(error instanceof InvalidToken)) throw error;
    throw new HttpProblem(401, 'UNAUTHENTICATED', error.message, {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
  if (access === 'admin' && principal.role !== 'admin') throw new HttpProblem(403, 'FORBIDDEN', 'this needs the admin role');
  return principal;
}

function parse<T>(schema: ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new HttpProblem(400, 'VALIDATION_FAILED', `the request ${where} is not valid`, {
    errors: parsed.error.issues.map((issue) => ({ in: where, path: issue.path.join('.'), message: issue.message })),
  });
}

async function waitIfAsked(req: Request, projections: readonly string[], runtime: RouteRuntime) {
  const header = req.header('x-consistent-with');
  if (header === undefined) return;
  const position = parse(positionSchema, header, 'header X-Consistent-With');
  await runtime.waitForProjections(projections, position);
}

/**
 * API.md's Idempotency-Key: replay the first response, refuse another body (422) or a key
 * whose first request is still running (409). Failures that wrote nothing (5xx, a lost race
 * the client should retry) free the key instead of being replayed forever.
 */
async function runIdempotently(
  req: Request,
  res: Response,
  user: Principal | undefined,
  run: (idSeed: string | undefined) => Promise<RouteResult>,
  runtime: RouteRuntime,
): Promise<RouteResult | undefined> {
  const header = req.header('idempotency-key');
  if (header === undefined) return run(undefined);
  const key = parse(idempotencyKeySchema, header, 'header Idempotency-Key');
  const scope = user ? `user:${user.userId}` : `ip:${req.ip}`;
  const fingerprint = sha256(`${req.method} ${req.baseUrl}${req.path}\n${stableJson(req.body ?? {})}`);
  const claim = await runtime.idempotency.claim(scope, key, fingerprint, IDEMPOTENCY_IN_FLIGHT_MS);
  switch (claim.outcome) {
    case 'mismatch':
      throw new HttpProblem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request');
    case 'in_flight':
      throw new HttpProblem(409, 'IDEMPOTENCY_KEY_IN_USE', 'a request with this Idempotency-Key is still running', {}, { 'Retry-After': '1' });
    case 'replay':
      res.setHeader('Idempotent-Replayed', 'true');
      return claim.response as RouteResult;
    case 'claimed':
      break;
  }
  const ttlMs = runtime.config.IDEMPOTENCY_TTL_HOURS * 3600_000;
  try {
    const result = await run(sha256(`${scope}\u0000${key}`));
    await runtime.idempotency.complete(scope, key, fingerprint, result, ttlMs);
    return result;
  } catch (error) {
    const answer = replayableAnswer(error);
    if (answer) await runtime.idempotency.complete(scope, key, fingerprint, answer, ttlMs);
    else await runtime.idempotency.release(scope, key, fingerprint);
    throw error;
  }
}

/** A business refusal is the request's answer and is replayed; a conflict or a crash is not. */
function replayableAnswer(error: unknown): StoredResponse | null {
  const { status, body } = errorToProblem(error);
  if (status >= 500 || body.code === 'CONCURRENCY_CONFLICT' || status === 429) return null;
  return { status, body };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** JSON with sorted keys, so the same body always has the same fingerprint. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function document(registry: OpenAPIRegistry, route: RouteDefinition): void {
  const problemResponse = (codes: readonly string[]): ResponseConfig => ({
    description: codes.join(', '),
    content: { 'application/problem+json': { schema: problemSchema } },
  });
  const errors: Record<number, string[]> = {};
  const add = (status: number, ...codes: string[]) => (errors[status] = [...(errors[status] ?? []), ...codes]);
  if (route.params || route.query || route.body) add(400, 'VALIDATION_FAILED');
  if (route.access !== 'public') add(401, 'UNAUTHENTICATED');
  if (route.access === 'admin') add(403, 'FORBIDDEN');
  if (route.idempotent) {
    add(409, 'IDEMPOTENCY_KEY_IN_USE', 'CONCURRENCY_CONFLICT');
    add(422, 'IDEMPOTENCY_KEY_REUSED');
  }
  if (route.readsFrom) add(503, 'CONSISTENCY_TIMEOUT');
  for (const [status, codes] of Object.entries(route.errors ?? {})) add(Number(status), ...codes);

  const headers: ZodType[] = [];
  if (route.idempotent) headers.push(z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() }));
  if (route.readsFrom) headers.push(z.object({ 'X-Consistent-With': z.string().optional() }));

  registry.registerPath({
    method: route.method,
    path: route.path,
    summary: route.summary,
    tags: [...route.tags],
    security: route.access === 'public' ? [] : [{ bearer: [] }],
    request: {
      params: route.params as never,
      query: route.query as never,
      headers: headers.length > 0 ? headers : undefined,
      body: route.body ? { content: { 'application/json': { schema: route.body } }, required: true } : undefined,
    },
    responses: {
      [route.response.status]: {
        description: route.response.description,
        content: { 'application/json': { schema: route.response.schema } },
      },
      ...Object.fromEntries(Object.entries(errors).map(([status, codes]) => [status, problemResponse([...new Set(codes)])])),
    },
  });
}
