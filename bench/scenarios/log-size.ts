/** The same charges and checkouts on a fresh app with 1 to 1,000,000 unrelated events already in the log. */
import { rmSync } from 'node:fs';
import { cannon, RequestSpec } from '../lib/load';
import { ScaleResult } from '../lib/report';
import { seedShop } from '../lib/seed';
import { logView, seedFiller, seedLog } from '../lib/store';
import { settings, tokens, log, tempDir, stop, startApp, caughtUp, withCpu, jsonHeaders, check, MainContext, AppDatabase, takeDatabaseCpu } from '../lib/harness';
import { Pool, CheckoutTally, checkoutRequest, checkoutChecks } from './checkout';

/** On SQLite files of its own, or (`database`) in a schema of its own on the bench's PostgreSQL. */
export async function scaleRun(filler: number, dataPlatformUrl: string, chargeAmount: number, checkoutAmount: number, database?: AppDatabase): Promise<ScaleResult> {
  const store = database ? 'postgres' : 'sqlite';
  const tag = `scale-${filler}${database ? '-pg' : ''}`;
  const dataDir = tempDir(tag);
  const t0 = Date.now();
  const fillerHead = await seedFiller(dataDir, database, filler, 'scale');
  const seedSeconds = (Date.now() - t0) / 1000;
  const warmCheckout = settings.connections * 10;
  const fixtures = await seedLog(dataDir, database, (seeder) =>
    seedShop(seeder, { tag: `scale${filler}`, products: settings.products, stock: 1_000_000, coupons: settings.checkoutCoupons, buyers: checkoutAmount + warmCheckout, points: 1_000_000 }),
  );
  const server = await startApp(`eventmart-${tag}`, dataDir, tag, dataPlatformUrl, false, database);
  const admin = await tokens.mint('bench-admin', 'admin');
  const reader = await logView(dataDir, database, fillerHead);
  try {
    const catchUpSeconds = await caughtUp(server, admin);
    await reader.refresh();
    const eventsAtStart = reader.count();
    log(`log ${filler.toLocaleString('en-US')} filler (${store}): seeded in ${seedSeconds.toFixed(1)} s, ${eventsAtStart.toLocaleString('en-US')} events, projections caught up in ${catchUpSeconds.toFixed(1)} s`);
    const ctx: MainContext = { server, admin, reader, fixtures, ordersUser: { userId: '', token: '' } };

    const users = Array.from({ length: settings.chargeUsers }, (_, i) => `scharger-${i}`);
    const userTokens = await tokens.mintMany(users);
    let next = 0;
    const chargeReq: RequestSpec = {
      method: 'POST',
      path: '/me/points/charge',
      setupRequest: (req) => ({ ...req, headers: jsonHeaders(userTokens[next++ % users.length]), body: '{"amount":100}' }),
    };
    const head0 = reader.head();
    await cannon({ url: server.url, connections: settings.connections, amount: settings.connections * 20, requests: [chargeReq] });
    const charge = { ...(await withCpu(server, admin, () => cannon({ url: server.url, connections: settings.connections, amount: chargeAmount, requests: [chargeReq] }))), databaseCpuUsPerRequest: takeDatabaseCpu() };
    await reader.refresh();
    const charged = reader.since(head0, ['PointsCharged']).length;

    const pool: Pool = { buyers: fixtures.buyers, tokens: await tokens.mintMany(fixtures.buyers.map((b) => b.userId)), next: 0 };
    const tally: CheckoutTally = { used: [], statuses: {}, failures: [] };
    const head1 = reader.head();
    const request = checkoutRequest(ctx, pool, tally);
    await cannon({ url: server.url, connections: settings.connections, amount: warmCheckout, requests: [request] });
    const checkout = { ...(await withCpu(server, admin, () => cannon({ url: server.url, connections: settings.connections, amount: checkoutAmount, requests: [request] }))), databaseCpuUsPerRequest: takeDatabaseCpu() };
    await reader.refresh();
    const checks = [
      check('every charge answered 200 and is one PointsCharged', charge.stats.non2xx === 0 && charged === settings.connections * 20 + chargeAmount, `${charged} events for ${settings.connections * 20 + chargeAmount} requests`),
      check('every checkout answered 201', tally.used.length === warmCheckout + checkoutAmount, JSON.stringify(tally.statuses)),
      ...checkoutChecks(reader, fixtures, pool, head1, tally),
    ];
    const peakRssMiB = server.memory().peakMiB;
    const withDatabase = (cpu: number | undefined) => (cpu === undefined ? '' : ` + PostgreSQL ${Math.round(cpu)}`);
    log(
      `log ${filler.toLocaleString('en-US')} (${store}): charge ${Math.round(charge.stats.rps)} req/s, ${Math.round(charge.cpuUsPerRequest)}${withDatabase(charge.databaseCpuUsPerRequest)} µs CPU/req; ` +
        `checkout ${Math.round(checkout.stats.rps)} req/s, ${Math.round(checkout.cpuUsPerRequest)}${withDatabase(checkout.databaseCpuUsPerRequest)} µs CPU/req; peak RSS ${Math.round(peakRssMiB)} MiB; checks ${checks.every((c) => c.ok) ? 'ok' : 'FAILED'}`,
    );
    return { store, fillerEvents: filler, eventsAtStart, seedSeconds, catchUpSeconds, charge, checkout, peakRssMiB, checks };
  } finally {
    await reader.close();
    await stop(server);
    if (!settings.keep) rmSync(dataDir, { recursive: true, force: true });
  }
}
