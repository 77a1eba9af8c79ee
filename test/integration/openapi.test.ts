import { startTestApp, TestApp, bearer } from '../support/app';

describe('OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
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
        const res = await (t.http() as unknown as Record<string, (u: string) => import('supertest').Test>)[method](url).set(bearer(token)).send({});
        if (res.status >= 500 || res.body?.code === 'ROUTE_NOT_FOUND') failures.push(`${method} ${path} -> ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
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
