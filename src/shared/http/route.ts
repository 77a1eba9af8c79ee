import { createHash } from 'node:crypto';
import type { RequestHandler, Router } from 'express';
import { OpenAPIRegistry, ResponseConfig } from '@asteasolutions/zod-to-openapi';
import type { Logger } from 'pino';
import { z, ZodType } from 'zod';
import { AdminJournal } from '../auth/admin-journal';
import { InvalidToken, Principal, TokenService } from '../auth/tokens';
import { Claim, IdempotencyStore, StoredResponse } from '../idempotency/port';
import { Config } from '../config';
import { OwnWrites } from '../session/own-writes';
import { LimitKind, LimitScope, RateLimits } from '../ratelimit/limits';
import { errorToProblem, logFailure } from './errors';
import { ErrorCode, HttpProblem, problem } from './problem';
import { EXAMPLE, problemSchema } from './schemas';

/** public: anyone; user: any valid token (customers and admins alike); admin: the admin role. */
export type Access = 'public' | 'user' | 'admin';

/** Who a handler sees: nobody on a public route; on the others the principal the token proved, always there. */
export type UserOf<A extends Access> = A extends 'public' ? Principal | undefined : Principal;

export interface RouteInput<P, Q, B, A extends Access = Access> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly user: UserOf<A>;
  /** Seeds deterministic event ids when the request carries an Idempotency-Key. */
  readonly idSeed: string | undefined;
  /**
   * The request waited for a write (its user's own, or the one X-Consistent-With names): read the read model itself.
   * A cache may not have heard of the change yet: its invalidation follows the projection's
   * commit, from another process when the projections run elsewhere.
   */
  readonly fresh: boolean;
  /** The client's address, through trusted proxies only (TRUST_PROXY). */
  readonly ip?: string;
}

export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
}

export interface RouteDefinition<P = unknown, Q = unknown, B = unknown, A extends Access = Access> {
  readonly method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI style: /products/{id}. */
  readonly path: string;
  /**
   * The operation's name in the OpenAPI document, and so the method name in generated clients:
   * a camelCase verb phrase (`chargePoints`, `checkout`), unique, never changed once published.
   */
  readonly operationId: string;
  readonly summary: string;
  readonly tags: readonly string[];
  readonly access: A;
  readonly params?: ZodType<P>;
  readonly query?: ZodType<Q>;
  readonly body?: ZodType<B>;
  readonly response: { readonly status: number; readonly description: string; readonly schema: ZodType };
  /** Business error codes by status, for the documentation. */
  readonly errors?: Readonly<Record<number, readonly ErrorCode[]>>;
  /** A state-changing POST: honours Idempotency-Key. */
  readonly idempotent?: boolean;
  /**
   * Projections this read depends on: a read waits until they have passed the user's own latest
   * write (read-your-writes, also on a public route sent with a valid token) and the position in
   * X-Consistent-With. A write that answers a `position` (a success, or a refusal that recorded
   * why it refused) records it as its user's.
   */
  readonly readsFrom?: readonly string[];
  /** Abuse limit (config RATE_LIMIT_*): state-changing routes count as 'write' unless they name another; reads are not limited unless they name one. */
  readonly rateLimit?: LimitKind;
  readonly handle: (input: RouteInput<P, Q, B, A>) => Promise<RouteResult>;
  /**
   * For a public GET: its answer from what this process already holds (the near cache),
   * without I/O, so the request is answered in the turn it arrived (see fast-lane.ts).
   * Undefined sends the request the normal way. Must answer what `handle` would.
   */
  readonly fromMemory?: (input: RouteInput<P, Q, B, A>) => RouteResult | undefined;
}

/**
 * Keeps each route's types checked while letting a module export a list of differently typed
 * routes. The cast forgets the route's own types, which routeServer then honours at run time:
 * it parses P, Q and B with the route's schemas and authenticates before every non-public handler.
 */
export const defineRoute = <P = undefined, Q = undefined, B = undefined, A extends Access = Access>(route: RouteDefinition<P, Q, B, A>) =>
  route as unknown as RouteDefinition;

export interface RouteRuntime {
  readonly config: Config;
  readonly tokens: TokenService;
  readonly idempotency: IdempotencyStore;
  readonly rateLimits: RateLimits;
  readonly adminJournal: AdminJournal;
  readonly logger: Logger;
  readonly waitForProjections: (projections: readonly string[], position: string) => Promise<void>;
  readonly ownWrites: OwnWrites;
}

const IDEMPOTENCY_IN_FLIGHT_MS = 60_000;

const idempotencyKeySchema = z.string().min(1).max(255);
const positionSchema = z.string().min(1).max(64).regex(/^[0-9/]+$/);

/** What a route without a query or a body schema accepts: nothing, so a stray field is refused rather than ignored. */
const noFields = z.strictObject({});

export const querySchemaOf = (route: RouteDefinition): ZodType => route.query ?? noFields;

/** /products/{id} as Express writes it: /products/:id. */
export const expressPathOf = (route: RouteDefinition): string => route.path.replace(/\{(\w+)\}/g, ':$1');

const limitOf = (route: RouteDefinition): LimitKind | undefined => route.rateLimit ?? (route.method === 'get' ? undefined : 'write');

/**
 * Which requests are answered 503 REQUEST_TIMEOUT once they run past REQUEST_TIMEOUT_MS. The
 * work itself is never cut off: a write is one atomic append that lands whole or not at all,
 * and one that lands late must not be reported as failed. So a read times out (it changed
 * nothing), a write sent with an Idempotency-Key times out (the key keeps its eventual outcome:
 * sending it again answers 409 IDEMPOTENCY_KEY_IN_USE while it runs, then replays the result),
 * and a write without a key is answered with its real outcome however long it takes (its parts
 * are bounded: lock waits, COMMAND_MAX_ATTEMPTS, the stores' own timeouts).
 */
const hasDeadline = (route: RouteDefinition, request: RouteRequest) =>
  route.method === 'get' || (route.idempotent === true && request.header('idempotency-key') !== undefined);

/** What a route reads of an HTTP request, whichever server parsed it (Express, or the fast lane). */
export interface RouteRequest {
  readonly method: string;
  /** Without the query string: for logs and the Idempotency-Key fingerprint. */
  readonly path: string;
  readonly ip: string | undefined;
  /** A request header by its lower-case name. */
  header(name: string): string | undefined;
  readonly params: unknown;
  readonly query: unknown;
  readonly body: unknown;
}

export interface Answer {
  readonly result: RouteResult;
  readonly replayed: boolean;
}

/**
 * Everything a route does with a request, up to its answer: limits, authentication,
 * validation, read-your-writes, idempotency, the deadline, the handler. Refusals are thrown
 * and become problem+json through errorToProblem.
 */
export function routeServer(route: RouteDefinition, runtime: RouteRuntime): (request: RouteRequest) => Promise<Answer> {
  const limit = limitOf(route);
  const querySchema = querySchemaOf(route);
  const bodySchema = route.body ?? (route.method === 'get' ? undefined : noFields);
  const journaled = route.access === 'admin' && route.method !== 'get';
  return async (request) => {
    // The IP is counted before the token is checked, so a flood of bad tokens is limited too.
    if (limit) await enforceLimit(runtime.rateLimits, limit, 'ip', request.ip ?? 'unknown');
    const user = await authenticate(request, route.access, runtime.tokens);
    if (limit && user) await enforceLimit(runtime.rateLimits, limit, 'user', user.userId);
    const params = parse(route.params, request.params, 'path');
    const query = parse(querySchema, request.query, 'query');
    const body = parse(bodySchema, request.body ?? {}, 'body');
    let fresh = false;
    const run = async (idSeed: string | undefined) => {
      const result = await route.handle({ params, query, body, user, idSeed, fresh, ip: request.ip });
      // Journaled routes are admin routes, which authenticate always answers with a principal.
      if (journaled && user) await recordAdminAction(runtime, user, route, params, result.status, idSeed);
      return result;
    };
    const work = (async (): Promise<Answer> => {
      if (route.readsFrom) fresh = await waitForWrites(request, route, user, runtime);
      // Before the answer leaves: the user's next read may already be on its way to another instance.
      const recordOwnWrite = async (body: unknown) => {
        const position = user && route.method !== 'get' && runtime.config.READ_YOUR_WRITES ? writtenPosition(body) : undefined;
        if (user && position) await runtime.ownWrites.record(user.userId, position);
      };
      let answer: Answer;
      try {
        answer = route.idempotent ? await runIdempotently(request, user, run, runtime) : { result: await run(undefined), replayed: false };
      } catch (error) {
        // A refusal that wrote something (a refused payment records why) answers its position too.
        await recordOwnWrite(errorToProblem(error).body);
        throw error;
      }
      await recordOwnWrite(answer.result.body);
      return answer;
    })();
    return hasDeadline(route, request) ? answerInTime(request, work, route.method !== 'get', runtime) : work;
  };
}

export function mountRoute(router: Router, registry: OpenAPIRegistry, route: RouteDefinition, runtime: RouteRuntime): void {
  document(registry, route);
  const serve = routeServer(route, runtime);
  const handler: RequestHandler = async (req, res) => {
    const { result, replayed } = await serve({
      method: req.method,
      path: `${req.baseUrl}${req.path}`,
      ip: req.ip,
      header: (name) => req.header(name),
      params: req.params,
      query: req.query,
      body: req.body,
    });
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    // A replayed refusal is the problem it was the first time.
    if (result.status >= 400) res.type('application/problem+json');
    res.status(result.status).json(result.body);
  };
  router[route.method](expressPathOf(route), handler);
}

async function recordAdminAction(runtime: RouteRuntime, admin: Principal, route: RouteDefinition, params: unknown, status: number, idSeed: string | undefined) {
  const action = { method: route.method.toUpperCase(), route: route.path, params: (params ?? {}) as Record<string, unknown>, status };
  try {
    await runtime.adminJournal.record(admin, action, idSeed);
  } catch (error) {
    runtime.logger.error({ err: error, adminId: admin.userId, action }, 'an admin action succeeded but its audit record could not be written');
  }
}

async function enforceLimit(limits: RateLimits, kind: LimitKind, scope: LimitScope, subject: string): Promise<void> {
  const refusal = await limits.check(kind, scope, subject);
  if (!refusal) return;
  throw new HttpProblem(
    429,
    'RATE_LIMITED',
    `too many requests from this ${scope === 'ip' ? 'address' : 'user'}; try again in ${refusal.retryAfterSeconds} s`,
    { limit: refusal.limit, windowSeconds: Math.ceil(refusal.windowMs / 1000), scope },
    { 'Retry-After': String(refusal.retryAfterSeconds) },
  );
}

/** Races the work against the deadline; the work goes on either way (see hasDeadline). */
async function answerInTime(request: RouteRequest, work: Promise<Answer>, pending: boolean, runtime: RouteRuntime): Promise<Answer> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      work.catch((error: unknown) => {
        if (errorToProblem(error).status >= 500) logFailure(runtime.logger, error, { method: request.method, path: request.path }, 'request failed after its 503 answer');
      });
      reject(
        pending
          ? new HttpProblem(503, 'REQUEST_TIMEOUT', 'the request is still running: send it again with the same Idempotency-Key to get its outcome', { pending: true }, { 'Retry-After': '1' })
          : new HttpProblem(503, 'REQUEST_TIMEOUT', 'the request took too long', { pending: false }, { 'Retry-After': '1' }),
      );
    }, runtime.config.REQUEST_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const bearerOf = (authorization: string | undefined) => authorization?.match(/^Bearer ([A-Za-z0-9._~+/=-]+)$/)?.[1];

async function authenticate(request: RouteRequest, access: Access, tokens: TokenService): Promise<Principal | undefined> {
  if (access === 'public') return undefined;
  const token = bearerOf(request.header('authorization'));
  if (!token) throw new HttpProblem(401, 'UNAUTHENTICATED', 'send Authorization: Bearer <token>', {}, { 'WWW-Authenticate': 'Bearer' });
  let principal: Principal;
  try {
    principal = await tokens.verify(token);
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

/**
 * Waits until the route's projections have passed the later of the user's own latest write and
 * the position the request names; true when there was one (and the read model is past it).
 * Nothing recent to wait for costs one look-up (one Redis GET in a shared deployment): strict
 * read-your-writes across instances must ask the shared record, since the user may have written
 * through any instance a moment ago, and an authenticated read makes no other Redis round trip
 * to fold it into (reads are not rate limited; their data comes from the document store).
 */
async function waitForWrites(request: RouteRequest, route: RouteDefinition, user: Principal | undefined, runtime: RouteRuntime): Promise<boolean> {
  const header = request.header('x-consistent-with');
  const asked = header === undefined ? null : parse(positionSchema, header, 'header X-Consistent-With');
  const reader = !runtime.config.READ_YOUR_WRITES ? undefined : user ?? (route.access === 'public' ? await adminReader(request, runtime.tokens) : undefined);
  const own = reader ? await runtime.ownWrites.latest(reader.userId) : null;
  const position = asked !== null && (own === null || asked > own) ? asked : own;
  if (position === null) return false;
  await runtime.waitForProjections(route.readsFrom!, position);
  return true;
}

/**
 * Whose own writes a public read waits for: an admin's only (the product it just created), the
 * catalogue being its data. Any other sender, with a token or not, reads anonymously, at no
 * cost: a public read stays what it was.
 */
async function adminReader(request: RouteRequest, tokens: TokenService): Promise<Principal | undefined> {
  if (request.header('authorization') === undefined) return undefined;
  const principal = await authenticate(request, 'user', tokens).catch(() => undefined);
  return principal?.role === 'admin' ? principal : undefined;
}

/**
 * For a public read that could be answered from memory (the fast lane): whether its sender may
 * be an admin whose own writes it must wait for. A token this process has verified as a
 * customer's needs nothing; one it does not know yet goes the long way, once.
 */
export function mayWaitForOwnWrites(authorization: string | undefined, runtime: RouteRuntime): boolean {
  if (authorization === undefined || !runtime.config.READ_YOUR_WRITES) return false;
  const token = bearerOf(authorization);
  return token === undefined || runtime.tokens.known(token)?.role !== 'customer';
}

/** The position a write answers (see schemas.ts positionSchema): a success's, or a refusal's that wrote why it refused. */
function writtenPosition(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { position } = body as { position?: unknown };
  return typeof position === 'string' ? position : undefined;
}

/**
 * docs/API.md's Idempotency-Key: replay the first response, refuse another body (422) or a key
 * whose first request is still running (409). Failures that wrote nothing (5xx, a lost race
 * the client should retry) free the key instead of being replayed forever.
 */
async function runIdempotently(
  request: RouteRequest,
  user: Principal | undefined,
  run: (idSeed: string | undefined) => Promise<RouteResult>,
  runtime: RouteRuntime,
): Promise<Answer> {
  const header = request.header('idempotency-key');
  if (header === undefined) return { result: await run(undefined), replayed: false };
  const key = parse(idempotencyKeySchema, header, 'header Idempotency-Key');
  const scope = user ? `user:${user.userId}` : `ip:${request.ip}`;
  const fingerprint = sha256(`${request.method} ${request.path}\n${stableJson(request.body ?? {})}`);
  let claim: Claim;
  try {
    claim = await runtime.idempotency.claim(scope, key, fingerprint, IDEMPOTENCY_IN_FLIGHT_MS);
  } catch (error) {
    // Nothing has run yet: refusing is safe, and better than running without the guarantee asked for.
    runtime.logger.warn({ err: error }, 'idempotency store unavailable');
    throw new HttpProblem(503, 'IDEMPOTENCY_UNAVAILABLE', 'Idempotency-Key cannot be honoured right now; retry shortly', {}, { 'Retry-After': '1' });
  }
  switch (claim.outcome) {
    case 'mismatch':
      throw new HttpProblem(422, 'IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used with a different request');
    case 'in_flight':
      throw new HttpProblem(409, 'IDEMPOTENCY_KEY_IN_USE', 'a request with this Idempotency-Key is still running', {}, { 'Retry-After': '1' });
    case 'replay':
      return { result: claim.response as RouteResult, replayed: true };
    case 'claimed':
      break;
  }
  const ttlMs = runtime.config.IDEMPOTENCY_TTL_HOURS * 3600_000;
  try {
    const result = await run(sha256(`${scope}\u0000${key}`));
    await remember(runtime, () => runtime.idempotency.complete(scope, key, fingerprint, result, ttlMs));
    return { result, replayed: false };
  } catch (error) {
    const answer = replayableAnswer(error);
    await remember(runtime, () =>
      answer ? runtime.idempotency.complete(scope, key, fingerprint, answer, ttlMs) : runtime.idempotency.release(scope, key, fingerprint),
    );
    throw error;
  }
}

/**
 * Storing the answer can fail after the work landed. The client still gets the true answer:
 * a retry with the key is then refused by the request's guard stream in the log (or, for a
 * key stuck in flight, answered 409 until its claim expires), never run twice.
 */
async function remember(runtime: RouteRuntime, store: () => Promise<void>): Promise<void> {
  try {
    await store();
  } catch (error) {
    runtime.logger.warn({ err: error }, 'could not record the Idempotency-Key outcome');
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
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' as const, minimum: 1 } } };
  const problemResponse = (status: number, codes: readonly ErrorCode[]): ResponseConfig => ({
    description: codes.join(', '),
    ...(status === 429 || status === 503 ? { headers: retryAfter } : {}),
    content: { 'application/problem+json': { schema: problemSchema, examples: Object.fromEntries(codes.map((code) => [code, { value: problemExample(status, code) }])) } },
  });
  const errors: Record<number, ErrorCode[]> = {};
  const add = (status: number, ...codes: ErrorCode[]) => (errors[status] = [...(errors[status] ?? []), ...codes]);
  // Every route validates its query (unknown fields are refused), even one that declares none.
  add(400, 'VALIDATION_FAILED');
  if (route.access !== 'public') add(401, 'UNAUTHENTICATED');
  if (route.access === 'admin') add(403, 'FORBIDDEN');
  if (route.idempotent) {
    add(409, 'IDEMPOTENCY_KEY_IN_USE', 'CONCURRENCY_CONFLICT');
    add(503, 'IDEMPOTENCY_UNAVAILABLE');
    add(422, 'IDEMPOTENCY_KEY_REUSED');
  }
  if (limitOf(route)) add(429, 'RATE_LIMITED');
  if (route.readsFrom) add(503, 'CONSISTENCY_TIMEOUT');
  if (route.method === 'get' || route.idempotent) add(503, 'REQUEST_TIMEOUT');
  // Any route may meet a database that stopped answering (DATABASE_URL).
  add(503, 'STORE_UNAVAILABLE');
  for (const [status, codes] of Object.entries(route.errors ?? {})) add(Number(status), ...codes);

  const headers: ZodType[] = [];
  if (route.idempotent) headers.push(z.object({ 'Idempotency-Key': idempotencyKeySchema.optional().openapi({ param: { example: EXAMPLE.idempotencyKey } }) }));
  if (route.readsFrom) {
    headers.push(z.object({ 'X-Consistent-With': z
          .string()
          .optional()
          .openapi({ description: "Also wait for this write's position; the user's own writes are waited for without it", param: { example: EXAMPLE.position } }) }));
  }

  registry.registerPath({
    method: route.method,
    path: route.path,
    operationId: route.operationId,
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
      ...Object.fromEntries(Object.entries(errors).map(([status, codes]) => [status, problemResponse(Number(status), [...new Set(codes)])])),
    },
  });
}

/** What a refusal with this code looks like, for the documentation: the real detail is the server's own sentence. */
function problemExample(status: number, code: ErrorCode) {
  const detail = code.toLowerCase().replace(/_/g, ' ');
  const extra = code === 'VALIDATION_FAILED' ? { errors: [{ in: 'body', path: 'quantity', message: 'Too small: expected number to be >=1' }] } : {};
  return problem(status, code, detail, extra);
}
