import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './openapi';

/**
 * A client of the API as its OpenAPI document describes it: paths, parameters and bodies are
 * the types openapi-typescript generated from /openapi.json into openapi.d.ts (`npm run
 * openapi:types`; test/integration/openapi.test.ts fails when they are stale).
 */
export type Api = Client<paths>;

export type Problem = components['schemas']['Problem'];

export function apiClient(baseUrl: string, token?: string, ...middleware: Middleware[]): Api {
  const client = createClient<paths>({ baseUrl, headers: token ? { authorization: `Bearer ${token}` } : {} });
  client.use(...middleware);
  return client;
}

/** A refusal (4xx/5xx) with its problem+json body. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> | undefined,
    what: string,
  ) {
    super(`${what}: ${status} ${problem?.code ?? ''} ${problem?.detail ?? ''}`.trim());
    this.name = 'ApiRefusal';
  }
}

/** The body of a successful answer (openapi-fetch's `data`); a refusal is thrown as ApiRefusal. */
export async function must<A extends { data?: unknown; error?: unknown; response: Response }>(call: Promise<A>, what = 'request'): Promise<NonNullable<A['data']>> {
  const answer = await call;
  if (answer.error === undefined && answer.response.ok) return answer.data as NonNullable<A['data']>;
  throw new ApiRefusal(answer.response.status, answer.error as Partial<Problem> | undefined, what);
}

/** True when the call was refused with this code. */
export const refusedWith = (error: unknown, code: string) => error instanceof ApiRefusal && error.problem?.code === code;
