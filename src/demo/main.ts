import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventmart, LISTEN_BACKLOG } from '../app';
import { loadConfig } from '../shared/config';
import { onShutdown } from '../shared/process';
import { Filled, fillShop, travellingClock } from './fill';
import { DEMO_ADMIN } from './shop';

/**
 * `npm run demo [-- URL]`: fills the server at URL (or EVENTMART_URL, or localhost:PORT) with the
 * demo shop through its API. When nothing answers there on this machine, it starts a server of
 * its own on a fresh data directory first and keeps it running until Ctrl-C.
 */
async function main() {
  const url = new URL(process.argv[2] ?? process.env.EVENTMART_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`);
  const baseUrl = url.origin;
  const log = (line: string) => process.stdout.write(`  ${line}\n`);
  if (await answers(baseUrl)) {
    process.stdout.write(`Filling the server at ${baseUrl} (the orders placed now are all today's: its clock is its own)\n`);
    print(baseUrl, await fillShop({ baseUrl, log }));
    return;
  }
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`nothing answers at ${baseUrl}, and the demo starts servers on this machine only`);

  const dataDir = mkdtempSync(join(tmpdir(), 'eventmart-demo-'));
  const config = loadConfig({ DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: url.port || '80', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  // Only this process can set its server's clock: the days-ago orders need it, and nothing outside can reach it.
  const { clock, travel } = travellingClock();
  const app = await createEventmart(config, { clock });
  app.start();
  const server = createServer(app.http);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(config.PORT, config.HOST, LISTEN_BACKLOG, resolve));
  onShutdown(app.composed.logger, async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.close();
  });
  process.stdout.write(`Nothing answered at ${baseUrl}: started a server there on a fresh data directory, ${dataDir}\n`);
  print(baseUrl, await fillShop({ baseUrl, travel, log }));
  process.stdout.write('\nThe server keeps running here; Ctrl-C stops it (the data directory stays).\n');
}

async function answers(baseUrl: string): Promise<boolean> {
  try {
    return (await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

function print(baseUrl: string, filled: Filled) {
  const [firstProduct] = filled.products.values();
  const lines = [
    '',
    `The demo shop is open at ${baseUrl}: ${filled.products.size} products, ${filled.coupons.size} coupon campaigns, ${Object.keys(filled.tokens).length - 1} customers.`,
    ...[...filled.coupons].map(([name, coupon]) => `  coupon ${coupon.couponId}  ${name}: ${coupon.remainingQuantity} left`),
    'Most popular over the last 3 days:',
    ...filled.ranking.map((entry) => `  ${entry.rank}. ${entry.name} (${entry.soldQuantity} sold)`),
    '',
    'Tokens (12 hours; paste into a shell):',
    ...Object.entries(filled.tokens).map(([userId, token]) => `  export ${userId === DEMO_ADMIN ? 'ADMIN' : userId.toUpperCase()}=${token}`),
    '',
    'Then try:',
    `  curl -s '${baseUrl}/products/popular?days=3'`,
    `  curl -s ${baseUrl}/me/orders -H "authorization: Bearer $ALICE"`,
    `  curl -s ${baseUrl}/checkout -H "authorization: Bearer $ALICE" -H 'content-type: application/json' \\`,
    `    -d '{"items":[{"productId":"${firstProduct.id}","quantity":1}]}'`,
    '',
    `Swagger UI: ${baseUrl}/docs (press Authorize, paste a token)   Operator's console: ${baseUrl}/console`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`npm run demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
