import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, TestApp, bearer } from '../support/app';
import { sender } from './security.support';
import { EXAMPLE } from '../../src/shared/http/schemas';

const root = join(__dirname, '..', '..');
/** Where the lint and the generator read the document: .redocly.lint-ignore.yaml names its problems by this path. */
const DOCUMENT = 'dist/openapi.json';
/** The demo's typed client (src/demo/client.ts) is checked against these; `npm run openapi:types` writes them. */
const CLIENT_TYPES = 'src/demo/openapi.d.ts';

interface LintReport {
  readonly totals: { readonly errors: number; readonly warnings: number; readonly ignored: number };
  readonly problems: readonly { readonly ruleId: string; readonly message: string; readonly location: readonly { readonly pointer?: string }[] }[];
}

interface JsonSchema {
  readonly $ref?: string;
  readonly example?: unknown;
  readonly examples?: unknown;
  readonly enum?: unknown;
  readonly const?: unknown;
  readonly properties?: Record<string, JsonSchema>;
  readonly items?: JsonSchema;
  readonly oneOf?: readonly JsonSchema[];
  readonly anyOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
}
interface MediaType {
  readonly schema: JsonSchema;
  readonly example?: unknown;
  readonly examples?: unknown;
}
type Body = { readonly content?: Record<string, MediaType> } | undefined;
interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly example?: unknown;
  readonly examples?: unknown;
}
interface OpenApiDoc {
  readonly paths: Record<
    string,
    Record<string, { readonly parameters?: readonly Parameter[]; readonly requestBody?: Body & { readonly content: Record<string, MediaType> }; readonly responses: Record<string, Body> }>
  >;
  readonly components: { readonly schemas: Record<string, JsonSchema> };
}

/** The fields (leaves) of a schema that neither they nor any schema around them exemplifies. */
function fieldsWithoutExample(doc: OpenApiDoc, schema: JsonSchema, at: string): string[] {
  const s = schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()!] : schema;
  if (s.example !== undefined || s.examples !== undefined || s.enum !== undefined || s.const !== undefined) return [];
  const parts: [string, JsonSchema][] = [
    ...Object.entries(s.properties ?? {}).map(([name, field]): [string, JsonSchema] => [`.${name}`, field]),
    ...(s.items ? [['[]', s.items] as [string, JsonSchema]] : []),
    ...[...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])].map((branch, i): [string, JsonSchema] => [`<${i}>`, branch]),
  ];
  return parts.length === 0 ? [at] : parts.flatMap(([step, part]) => fieldsWithoutExample(doc, part, `${at}${step}`));
}

/**
 * Replaces a file whole: jest's projects run this file in parallel (through the fast lane and
 * through Express alone), and a reader must never see half of the other's write.
 */
function writeWhole(file: string, text: string): void {
  const partial = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(partial, text);
  renameSync(partial, file);
}

/** Redocly CLI (the devDependency, pinned) on a document file, with the repository's redocly.yaml. */
async function redoclyLint(file: string): Promise<LintReport> {
  const cli = require.resolve('@redocly/cli/bin/cli.js');
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };
  const run = promisify(execFile)(process.execPath, [cli, 'lint', file, '--config', 'redocly.yaml', '--format', 'json'], { cwd: root, env });
  // It exits 1 on errors, with the same report on stdout.
  const { stdout } = await run.catch((failure: { stdout?: string }) => ({ stdout: failure.stdout ?? '' }));
  return JSON.parse(stdout) as LintReport;
}

/** What openapi-typescript (the devDependency, pinned) generates from a document file. */
async function generateClientTypes(file: string): Promise<string> {
  const cli = join(dirname(require.resolve('openapi-typescript/package.json')), 'bin', 'cli.js');
  const out = mkdtempSync(join(tmpdir(), 'eventmart-types-'));
  try {
    await promisify(execFile)(process.execPath, [cli, file, '--output', join(out, 'openapi.d.ts')], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    return readFileSync(join(out, 'openapi.d.ts'), 'utf8');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

describe('OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    // The document as `npm start` serves it (embedded, dev tokens on), for the tools that read files.
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeWhole(join(root, DOCUMENT), JSON.stringify((await t.http().get('/openapi.json')).body, null, 2));
  });
  afterAll(async () => t.close());

  it('is served as OpenAPI 3.1 at /openapi.json, and Swagger UI at /docs', async () => {
    const doc = await t.http().get('/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const ui = await t.http().get('/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
  });

  it('describes every mounted route', async () => {
    const { paths } = (await t.http().get('/openapi.json')).body;
    const missing = t.app.routes.filter((route) => !paths[route.path]?.[route.method]).map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
    for (const path of ['/health', '/ready', '/metrics', '/auth/dev-token', '/me/points/charge', '/me/points', '/me/points/history']) {
      expect(Object.keys(paths)).toContain(path);
    }
  });

  it('every documented path answers (no 404 for the route, no 5xx)', async () => {
    const { paths } = (await t.http().get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const token = await t.tokenFor('doc-reader', 'admin');
    const failures: string[] = [];
    for (const [path, operations] of Object.entries(paths)) {
      for (const method of Object.keys(operations)) {
        const url = path.replace(/\{[^}]+\}/g, 'example');
        const res = await sender(t)(method, url).set(bearer(token)).send({});
        if (res.status >= 500 || res.body?.code === 'ROUTE_NOT_FOUND') failures.push(`${method} ${path} -> ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("passes Redocly's recommended rules, but for the problems its ignore file explains", async () => {
    const report = await redoclyLint(DOCUMENT);
    const problems = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    // The ignore file is read: without it, the operations that can answer no 4xx would be reported.
    expect(report.totals.ignored).toBeGreaterThan(0);
  });

  it('keeps the client types generated from this document (npm run openapi:types rewrites them)', async () => {
    const fresh = await generateClientTypes(DOCUMENT);
    if (process.env.UPDATE_CLIENT_TYPES === 'true') writeWhole(join(root, CLIENT_TYPES), fresh);
    const committed = readFileSync(join(root, CLIENT_TYPES), 'utf8');
    // A plain comparison: a 4,000-line diff helps nobody; the command to run does.
    if (committed !== fresh) throw new Error(`${CLIENT_TYPES} is not what the document generates: run \`npm run openapi:types\` and commit it`);
    expect(fresh).toContain('chargePoints: {');
  });

  it('names every operation with a unique camelCase operationId, and declares its security', async () => {
    const { paths } = (await t.http().get('/openapi.json')).body as { paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>> };
    const operations = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ at: `${method} ${path}`, ...op })));
    const ids = operations.map((op) => op.operationId);
    expect(operations.filter((op) => !/^[a-z][A-Za-z]+$/.test(op.operationId ?? '')).map((op) => op.at)).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(operations.filter((op) => op.security === undefined).map((op) => op.at)).toEqual([]);
    expect(paths['/me/points/charge'].post.operationId).toBe('chargePoints');
    expect(paths['/checkout'].post.operationId).toBe('checkout');
    expect(paths['/me/points/charge'].post.security).toEqual([{ bearer: [] }]);
    expect(paths['/products'].get.security).toEqual([]);
  });

  it('gives every request and response body an example: whole, or for each of its fields', async () => {
    const doc = (await t.http().get('/openapi.json')).body as OpenApiDoc;
    const unexampled: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const bodies = [['body', op.requestBody] as const, ...Object.entries(op.responses)];
        for (const [name, body] of bodies) {
          for (const [type, media] of Object.entries(body?.content ?? {})) {
            if (media.example === undefined && media.examples === undefined) unexampled.push(...fieldsWithoutExample(doc, media.schema, `${method} ${path} ${name} ${type}`));
          }
        }
      }
    }
    expect(unexampled).toEqual([]);
    // Examples of one story, not the generic "string" and 0.
    const charge = doc.paths['/me/points/charge'].post;
    expect(charge.requestBody?.content['application/json'].schema).toMatchObject({ properties: { amount: { example: 50_000 } } });
  });

  it('gives every path, query and header parameter an example of its own, which Swagger UI fills in', async () => {
    const doc = (await t.http().get('/openapi.json')).body as OpenApiDoc;
    const parameters = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, op]) => (op.parameters ?? []).map((parameter) => ({ at: `${method} ${path} ${parameter.in} ${parameter.name}`, ...parameter }))),
    );
    expect(parameters.length).toBeGreaterThan(0);
    expect(parameters.filter((p) => p.example === undefined && p.examples === undefined).map((p) => p.at)).toEqual([]);
    // Examples of the same story as the bodies'.
    const coupon = parameters.find((p) => p.at === 'get /coupons/{couponId} path couponId');
    expect(coupon?.example).toBe(EXAMPLE.couponId);
  });

  it('answers an unknown route with a problem', async () => {
    const res = await t.http().get('/nope');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('ROUTE_NOT_FOUND');
  });

  it('offers dev tokens in the embedded mode and they work', async () => {
    const minted = await t.http().post('/auth/dev-token').send({ userId: 'dev', role: 'customer' });
    expect(minted.status).toBe(200);
    const me = await t.http().get('/me/points').set(bearer(minted.body.token));
    expect(me.body).toEqual({ userId: 'dev', balance: 0 });
  });

  it('answers health, readiness and metrics', async () => {
    expect((await t.http().get('/health')).body).toEqual({ status: 'ok' });
    const ready = await t.http().get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(['eventStore', 'documents', 'idempotency']));
    const metrics = await t.http().get('/metrics');
    expect(metrics.text).toContain('http_request_duration_seconds');
  });
});

describe('without dev tokens', () => {
  it('has no /auth/dev-token route', async () => {
    const t = await startTestApp({ env: { AUTH_DEV_TOKENS: 'false' } });
    try {
      const res = await t.http().post('/auth/dev-token').send({ userId: 'dev', role: 'admin' });
      expect(res.status).toBe(404);
      expect(Object.keys((await t.http().get('/openapi.json')).body.paths)).not.toContain('/auth/dev-token');
    } finally {
      await t.close();
    }
  });
});
