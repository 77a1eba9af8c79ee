import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import proxyaddr from 'proxy-addr';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { ROLES, TokenService, userIdSchema } from '../auth/tokens';
import { HttpProblem } from './problem';
import { defineRoute } from './route';
import { EXAMPLE } from './schemas';

export interface Readiness {
  readonly name: string;
  readonly check: () => Promise<void>;
}

/** /health, /ready and /metrics answer outside the documented API routes' machinery: no auth, no JSON validation. */
export function operationsRouter(readiness: readonly Readiness[], metrics: Registry): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    const results = await Promise.all(
      readiness.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), 2000);
          return { name, ok: true as const };
        } catch (error) {
          return { name, ok: false as const, error: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    const failed = results.filter((r) => !r.ok);
    res.status(failed.length === 0 ? 200 : 503).json({ status: failed.length === 0 ? 'ready' : 'unavailable', checks: results });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });
  return router;
}

export function documentOperations(registry: OpenAPIRegistry): void {
  const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
  const check = z.object({
    name: z.string().openapi({ example: 'eventStore' }),
    ok: z.boolean().openapi({ example: true }),
    error: z.string().optional().openapi({ description: 'Why the check failed', example: 'no answer within 2000 ms' }),
  });
  registry.registerPath({
    method: 'get',
    path: '/health',
    operationId: 'getHealth',
    tags: ['Operations'],
    security: [],
    summary: 'The process is up',
    responses: { 200: { description: 'Up', content: json(z.object({ status: z.literal('ok') })) } },
  });
  registry.registerPath({
    method: 'get',
    path: '/ready',
    operationId: 'getReadiness',
    tags: ['Operations'],
    security: [],
    summary: 'Every store answers',
    responses: {
      200: { description: 'Ready', content: json(z.object({ status: z.literal('ready'), checks: z.array(check) })) },
      503: { description: 'A store does not answer', content: json(z.object({ status: z.literal('unavailable'), checks: z.array(check) })) },
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tags: ['Operations'],
    security: [],
    summary: 'Prometheus metrics',
    responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string().openapi({ example: '# TYPE http_request_duration_seconds histogram\nhttp_request_duration_seconds_count{method="GET",route="/products",status="200"} 42\n' }) } } } },
  });
}

const fromLoopback = proxyaddr.compile('loopback');

/**
 * Only mounted when dev tokens are on; otherwise the path does not exist (404). Anyone who can
 * reach it can be admin, so it answers loopback clients only unless `remote` says otherwise.
 */
export const devTokenRoute = (tokens: TokenService, remote: boolean) =>
  defineRoute({
    method: 'post',
    path: '/auth/dev-token',
    operationId: 'mintDevToken',
    summary: 'Mint a token for any user and role (development only)',
    tags: ['Auth'],
    access: 'public',
    rateLimit: 'token',
    body: z.strictObject({ userId: userIdSchema.meta({ example: EXAMPLE.userId }), role: z.enum(ROLES) }),
    response: { status: 200, description: 'A bearer token valid for 12 hours (or JWT_MAX_TOKEN_AGE_HOURS if shorter)', schema: z.object({ token: z.string().openapi({ example: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInJvbGUiOiJjdXN0b21lciJ9.c2lnbmF0dXJl' }) }) },
    errors: { 403: ['DEV_TOKENS_LOCAL_ONLY'] },
    async handle({ body, ip }) {
      if (!remote && !(ip !== undefined && fromLoopback(ip, 0))) {
        throw new HttpProblem(403, 'DEV_TOKENS_LOCAL_ONLY', 'dev tokens are minted for clients on this machine only (AUTH_DEV_TOKENS_REMOTE=true allows others)');
      }
      return { status: 200, body: { token: await tokens.issue(body) } };
    },
  });

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
