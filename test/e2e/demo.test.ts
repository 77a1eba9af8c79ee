/**
 * `npm run demo` as a newcomer runs it: the built entry point (dist/src/demo/main.js) against a
 * port where nothing answers, so it starts its own server on a fresh data directory, fills it and
 * prints what to try; then the printed tokens, curl lines and links are used as printed, and a
 * second run against the running server adds nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COUPONS, CUSTOMERS, ORDERS, PRODUCTS } from '../../src/demo/shop';
import { freePort, node, Proc, until } from './support/processes';

jest.setTimeout(120_000);

const CURL = '/usr/bin/curl';

/** The lines of `output` after the one that starts with `heading`, up to the next blank line. */
function block(output: string, heading: string): string[] {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.startsWith(heading));
  if (start < 0) throw new Error(`no "${heading}" in:\n${output}`);
  const end = lines.findIndex((line, i) => i > start && line.trim() === '');
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

describe('npm run demo on a fresh machine', () => {
  let scratch: string;
  let port: number;
  let baseUrl: string;
  let server: Proc;
  /** The demo's environment: TMPDIR puts its fresh data directory where this test cleans up. */
  let env: Record<string, string>;

  beforeAll(async () => {
    scratch = realpathSync(mkdtempSync(join(tmpdir(), 'eventmart-demo-e2e-')));
    port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    env = { TMPDIR: scratch };
    server = node('demo', 'src/demo/main.js', env, { args: [baseUrl] }).start();
    await until(() => server.output.includes('The server keeps running here'), `the demo's first run to print what to try:\n${server.output}`, 90_000);
  });
  afterAll(async () => {
    await server?.stop('SIGTERM');
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('starts its own server on a fresh data directory and says where', async () => {
    const [, dataDir] = /started a server there on a fresh data directory, (\S+)/.exec(server.output) ?? [];
    expect(dataDir?.startsWith(join(scratch, 'eventmart-demo-'))).toBe(true);
    expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['events.db', 'readmodels.db']));
    expect(server.output).toContain(`${PRODUCTS.length} products (${PRODUCTS.length} new)`);
    expect(server.output).toContain(`${ORDERS.length} orders placed (0 were there)`);
    expect(server.output).toContain(`${PRODUCTS.length} products, ${COUPONS.length} coupon campaigns, ${CUSTOMERS.length} customers`);
  });

  it('prints tokens that the server accepts, for the admin and each customer', async () => {
    const exports = Object.fromEntries(block(server.output, 'Tokens').map((line) => /^ {2}export (\w+)=(\S+)$/.exec(line)!.slice(1)));
    expect(Object.keys(exports).sort()).toEqual(['ADMIN', ...CUSTOMERS.map((c) => c.userId.toUpperCase())].sort());
    for (const customer of CUSTOMERS) {
      const me = await fetch(`${baseUrl}/me/points`, { headers: { authorization: `Bearer ${exports[customer.userId.toUpperCase()]}` } });
      expect([me.status, ((await me.json()) as { userId: string }).userId]).toEqual([200, customer.userId]);
    }
    const admin = await fetch(`${baseUrl}/admin/projections`, { headers: { authorization: `Bearer ${exports.ADMIN}` } });
    expect(admin.status).toBe(200);
  });

  const withCurl = existsSync(CURL) ? it : it.skip;
  withCurl(`${existsSync(CURL) ? '' : `SKIPPED: ${CURL} is missing: `}prints curl lines that work as they are pasted, after the exports`, async () => {
    const lines = block(server.output, 'Then try:').map((line) => line.trim());
    const exports = block(server.output, 'Tokens').join('\n');
    // Each command, its continuation lines joined as the shell would.
    const commands = lines.join('\n').replace(/ \\\n/g, ' ').split('\n');
    expect(commands).toHaveLength(3);
    const run = (command: string) => JSON.parse(execFileSync('bash', ['-c', `${exports}\n${command}`], { encoding: 'utf8' }));
    const [popular, myOrders, checkout] = commands.map(run);
    expect(popular.items[0]).toMatchObject({ rank: 1, name: expect.any(String) });
    expect(popular.items.length).toBeGreaterThan(0);
    expect(myOrders.items).toHaveLength(ORDERS.filter((order) => order.userId === 'alice').length);
    expect(checkout).toMatchObject({ status: 'PAID', items: [{ quantity: 1 }] });
  });

  it('links to Swagger UI and the console, both served', async () => {
    const [, docs, consolePage] = /Swagger UI: (\S+) .*Operator's console: (\S+)/.exec(server.output) ?? [];
    expect(docs).toBe(`${baseUrl}/docs`);
    const ui = await fetch(docs);
    expect([ui.status, (await ui.text()).includes('swagger-ui')]).toEqual([200, true]);
    expect((await fetch(consolePage)).status).toBe(200);
  });

  it('adds nothing when run again against the running server', async () => {
    const again = node('demo again', 'src/demo/main.js', env, { args: [baseUrl] }).start();
    expect(await again.exited()).toEqual({ code: 0, signal: null });
    expect(again.output).toContain(`Filling the server at ${baseUrl}`);
    expect(again.output).toContain(`${PRODUCTS.length} products (0 new)`);
    expect(again.output).toContain(`0 orders placed (${ORDERS.length} were there)`);
    // Only the first run made a data directory.
    expect(readdirSync(scratch).filter((name) => name.startsWith('eventmart-demo-'))).toHaveLength(1);
    const catalogue = (await (await fetch(`${baseUrl}/products?limit=100`)).json()) as { items: unknown[] };
    expect(catalogue.items).toHaveLength(PRODUCTS.length);
  });

  it('stops its server on Ctrl-C and keeps the data directory, as it says', async () => {
    expect(await server.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(readdirSync(scratch).filter((name) => name.startsWith('eventmart-demo-'))).toHaveLength(1);
  });
});
