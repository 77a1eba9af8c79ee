import { gzipSync } from 'node:zlib';
import pino from 'pino';
import request from 'supertest';
import { bearer, startTestApp, TestApp } from '../support/app';
import { as, httpSpec } from '../support/http-spec';
import { sendRaw } from './security.support';

/** A pino logger that keeps every line, parsed. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: pino({ level: 'trace' }, { write: (line: string) => void lines.push(JSON.parse(line)) }), lines };
}

describe('client mistakes are 4xx problems and never error-level log entries', () => {
  let t: TestApp;
  const logs = capturedLogger();
  beforeAll(async () => {
    t = await startTestApp({ env: { REQUEST_TIMEOUT_MS: '2000', CONSISTENCY_WAIT_MS: '300' }, overrides: { logger: logs.logger } });
  });
  afterAll(async () => t.close());
  beforeEach(() => (logs.lines.length = 0));

  const errorsLogged = () => logs.lines.filter((line) => (line.level as number) >= 50);
  const stacks = () => logs.lines.filter((line) => JSON.stringify(line).includes('"stack"'));
  const spec = () => httpSpec(t).given();

  it('answers a malformed percent escape in the path 400 MALFORMED_PATH', async () => {
    await spec().when(as('anonymous').get('/products/%ZZ')).thenRefused(400, 'MALFORMED_PATH');
    expect(errorsLogged()).toEqual([]);
    expect(stacks()).toEqual([]);
  });

  it('answers a body that is not the gzip it says it is 400 MALFORMED_BODY, and writes nothing', async () => {
    const gzipped = { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' };
    await spec().when(as('not-gzip').post('/me/points/charge', '{"amount":5}', gzipped)).thenRefused(400, 'MALFORMED_BODY');
    // The same request really gzipped goes through (supertest cannot send raw bytes).
    const token = await t.tokenFor('not-gzip');
    const real = await sendRaw(t.baseUrl, 'POST', '/me/points/charge', { ...bearer(token), 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, gzipSync('{"amount":5}'));
    expect([real.status, real.body?.balance]).toEqual([200, 5]);
    expect(errorsLogged()).toEqual([]);
    expect(stacks()).toEqual([]);
  });

  it('logs a 503 after waiting for a position far beyond the head at warn, without a stack', async () => {
    await spec().when(as('far-ahead').get('/me/points', undefined, { 'X-Consistent-With': '99999999999999999999' })).thenRefused(503, 'CONSISTENCY_TIMEOUT');
    expect(logs.lines.filter((line) => line.code === 'CONSISTENCY_TIMEOUT').map((line) => line.level)).toEqual([40]);
    expect(errorsLogged()).toEqual([]);
    expect(stacks()).toEqual([]);
  });

  it('serves /openapi.json with the security headers every other answer carries', async () => {
    const api = await t.http().get('/products');
    const doc = await t.http().get('/openapi.json');
    expect(doc.status).toBe(200);
    for (const name of ['content-security-policy', 'x-content-type-options', 'strict-transport-security', 'x-frame-options', 'cross-origin-resource-policy']) {
      expect([name, doc.headers[name]]).toEqual([name, api.headers[name]]);
    }
  });
});

describe('client addresses behind proxies (TRUST_PROXY)', () => {
  const limits = { RATE_LIMIT_WRITE_PER_IP: '3', RATE_LIMIT_WRITE_PER_USER: '0' };
  let apps: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });
  const start = async (env: Record<string, string>) => {
    const app = await startTestApp({ env: { ...limits, ...env } });
    apps.push(app);
    return app;
  };
  /** Four charges by four users, each claiming its own forwarded address; through the fast lane and through Express. */
  const statuses = async (t: TestApp, via: 'fast lane' | 'express', forwarded: (i: number) => string) => {
    const agent = () => (via === 'express' ? request(t.app.express) : t.http());
    const out: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const token = await t.tokenFor(`xff-${via.replace(' ', '-')}-${i}`);
      out.push((await agent().post('/me/points/charge').set(bearer(token)).set('X-Forwarded-For', forwarded(i)).send({ amount: 1 })).status);
    }
    return out;
  };

  it.each(['fast lane', 'express'] as const)('counts a spoofed X-Forwarded-For from an untrusted address as that address (%s)', async (via) => {
    // The test client connects from 127.0.0.1, which this setting does not trust.
    const t = await start({ TRUST_PROXY: '172.29.80.0/24' });
    expect(await statuses(t, via, (i) => `203.0.113.${i}`)).toEqual([200, 200, 200, 429]);
  });

  it.each(['fast lane', 'express'] as const)("uses a trusted proxy's forwarded address (%s)", async (via) => {
    const t = await start({});
    expect(await statuses(t, via, (i) => `203.0.113.${i}`)).toEqual([200, 200, 200, 200]);
    // The address the proxy saw (the right-most one) is the client; what the client claimed before it is not.
    expect(await statuses(t, via, (i) => `198.51.100.${i}, 203.0.113.50`)).toEqual([200, 200, 200, 429]);
  });
});

describe('dev tokens', () => {
  let t: TestApp;
  const logs = capturedLogger();
  afterEach(async () => t.close());

  it('warns in one line at start-up and mints for loopback clients only', async () => {
    t = await startTestApp({ overrides: { logger: logs.logger } });
    const warnings = logs.lines.filter((line) => line.level === 40 && String(line.msg).includes('dev tokens are on'));
    expect(warnings).toHaveLength(1);
    const mint = (agent: ReturnType<typeof request>, from?: string) => {
      const req = agent.post('/auth/dev-token').send({ userId: 'mallory', role: 'admin' });
      return from ? req.set('X-Forwarded-For', from) : req;
    };
    expect((await mint(t.http())).status).toBe(200);
    expect((await mint(t.http(), '::1')).status).toBe(200);
    for (const agent of [t.http(), request(t.app.express)]) {
      const remote = await mint(agent, '203.0.113.7');
      expect([remote.status, remote.body.code, remote.body.token]).toEqual([403, 'DEV_TOKENS_LOCAL_ONLY', undefined]);
    }
  });

  it('mints for remote clients when AUTH_DEV_TOKENS_REMOTE=true says so, and says so at start-up', async () => {
    t = await startTestApp({ env: { AUTH_DEV_TOKENS_REMOTE: 'true' }, overrides: { logger: logs.logger } });
    expect(logs.lines.some((line) => String(line.msg).includes('ANY client'))).toBe(true);
    await httpSpec(t)
      .given()
      .when(as('anonymous').post('/auth/dev-token', { userId: 'u', role: 'customer' }, { 'X-Forwarded-For': '203.0.113.7' }))
      .then(200, { token: expect.any(String) });
  });
});
