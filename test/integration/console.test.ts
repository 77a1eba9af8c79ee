import { startTestApp, TestApp } from '../support/app';

/** The console's files as the app serves them; test/e2e/console.test.ts drives them in a browser. */
describe('console assets', () => {
  let t: TestApp;
  beforeAll(async () => (t = await startTestApp()));
  afterAll(async () => t.close());

  it('redirects /console to /console/, where the page loads its modules under the API security headers', async () => {
    const bare = await t.http().get('/console');
    expect([bare.status, bare.headers.location]).toEqual([301, '/console/']);
    const page = await t.http().get('/console/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("script-src-attr 'none'");
    // Self-hosted modules only: no inline script, nothing from elsewhere.
    expect(page.text).toMatch(/<script type="module" src="main.js"><\/script>/);
    expect(page.text).not.toMatch(/<script(?![^>]*src=)/);
    expect(page.text).not.toMatch(/https?:\/\//);
    const script = await t.http().get('/console/main.js');
    expect([script.status, script.headers['content-type'], script.headers['x-content-type-options']]).toEqual([200, 'text/javascript; charset=utf-8', 'nosniff']);
  });

  it('answers 404 problem+json for a file it does not have', async () => {
    const res = await t.http().get('/console/nope.js');
    expect([res.status, res.body.code]).toEqual([404, 'ROUTE_NOT_FOUND']);
  });
});
