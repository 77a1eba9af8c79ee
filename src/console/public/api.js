import { session } from './session.js';

/** A refusal from the API, carrying its problem+json (title, detail, code, errors). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail ?? problem.title);
    this.status = status;
    this.title = problem.title ?? `HTTP ${status}`;
    this.detail = problem.detail ?? '';
    this.code = problem.code;
    this.errors = problem.errors;
  }
}

let onUnauthenticated = () => undefined;
/** Called when the API no longer accepts the token (expired, signed with another secret). */
export const whenUnauthenticated = (listener) => (onUnauthenticated = listener);

/**
 * One request with the session's token. `consistentWith` is a write's position: the read then
 * waits for the read models to reach it (X-Consistent-With), so the page shows its own write.
 * Writes carry an Idempotency-Key, so a retried click cannot act twice.
 */
export async function api(path, { method = 'GET', body, consistentWith, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth && session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['Idempotency-Key'] = crypto.randomUUID();
  if (consistentWith) headers['X-Consistent-With'] = consistentWith;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, { title: 'The server does not answer', detail: String(error.message ?? error) });
  }
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const error = new ApiError(res.status, parsed ?? { title: `HTTP ${res.status}`, detail: text.slice(0, 200) });
    if (res.status === 401 && auth) onUnauthenticated(error);
    throw error;
  }
  return parsed;
}

let openapi;
/** The API's own description: which routes exist here (the dev-token route is only mounted when allowed) and their input rules. */
export function apiDescription() {
  openapi ??= api('/openapi.json', { auth: false }).catch((error) => {
    openapi = undefined;
    throw error;
  });
  return openapi;
}

/** The JSON schema of a route's request body, as the API documents it. */
export async function bodySchema(method, path) {
  const doc = await apiDescription();
  const schema = doc.paths?.[path]?.[method]?.requestBody?.content?.['application/json']?.schema ?? {};
  return resolve(doc, schema);
}

/** Follows $ref (the generator puts named schemas in components). */
export function resolve(doc, schema) {
  if (!schema?.$ref) return schema;
  const name = schema.$ref.split('/').pop();
  return resolve(doc, doc.components.schemas[name]);
}
