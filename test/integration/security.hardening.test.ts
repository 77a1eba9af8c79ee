import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { bearer, startTestApp, TestApp } from '../support/app';
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

  it('answers a malformed percent escape in the path 400 MALFORMED_PATH', async () => {
    const res = await t.http().get('/products/%ZZ');
    expect([res.status, res.body.code]).toEqual([400, 'MALFORMED_PATH']);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(errorsLogged()).toEqual([]);
    expect(stacks()).toEqual([]);
  });

  it('answers a body that is not the gzip it says it is 400 MALFORMED_BODY, and writes nothing', async () => {
    const token = await t.tokenFor('not-gzip');
    const res = await t.http().post('/me/points/charge').set(bearer(token)).set('Content-Type', 'application/json').set('Content-Encoding', 'gzip').send('{"amount":5}');
    expect([res.status, res.body.code]).toEqual([400, 'MALFORMED_BODY']);
    expect(await t.app.services.events.readStream('wallet-not-gzip')).toEqual([]);
    const real = await sendRaw(t.baseUrl, 'POST', '/me/points/charge', { ...bearer(token), 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, gzipSync('{"amount":5}'));
    expect([real.status, real.body?.balance]).toEqual([200, 5]);
    expect(errorsLogged()).toEqual([]);
    expect(stacks()).toEqual([]);
  });

  it('logs a 503 after waiting for a position far beyond the head at warn, without a stack', async () => {
    const res = await t.http().get('/me/points').set(bearer(await t.tokenFor('far-ahead'))).set('X-Consistent-With', '99999999999999999999');
    expect([res.status, res.body.code]).toEqual([503, 'CONSISTENCY_TIMEOUT']);
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
