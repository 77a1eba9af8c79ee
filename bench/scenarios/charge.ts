/** POST /me/points/charge: 1,000 users in turn; every 200 must be one PointsCharged in the log. */
import { call, inParallel, LogView, position } from '../lib/api';
import { cannon, LoadStats, RequestSpec } from '../lib/load';
import { Check } from '../lib/report';
import { settings, tokens, withCpu, jsonHeaders, check, amountFor, MainContext, Measured, measured } from '../lib/harness';

export const latestStock = (reader: LogView, productId: string) => {
  const events = reader.stream(`product-${productId}`);
  const last = events.at(-1)!;
  return { name: events[0].data.name as string, price: events[0].data.price as number, stock: (last.data.stockAfter ?? last.data.stock) as number };
};

export async function chargeScenario(ctx: MainContext, users: string[], userTokens: string[], tag: string): Promise<{ stats: LoadStats; cpuUsPerRequest: number; checks: Check[]; unexpected: number }> {
  const okPerUser = new Array<number>(users.length).fill(0);
  let unexpected = 0;
  let next = 0;
  const request: RequestSpec = {
    method: 'POST',
    path: '/me/points/charge',
    setupRequest: (req, context) => {
      const i = next++ % users.length;
      context.user = i;
      return { ...req, headers: jsonHeaders(userTokens[i]), body: '{"amount":100}' };
    },
    onResponse: (status, _body, context) => {
      if (status === 200) okPerUser[context.user as number] += 1;
      else unexpected += 1;
    },
  };
  const head0 = ctx.reader.head();
  const warm = await cannon({ url: ctx.server.url, connections: settings.connections, amount: settings.connections * 40, requests: [request] });
  const amount = amountFor(warm.rps, settings.durationSeconds, 2_000, 200_000);
  const { stats, cpuUsPerRequest } = await withCpu(ctx.server, ctx.admin, () =>
    cannon({ url: ctx.server.url, connections: settings.connections, amount, requests: [request] }),
  );

  await ctx.reader.refresh();
  const checks: Check[] = [];
  const charged = ctx.reader.since(head0, ['PointsCharged']).filter((e) => e.stream.startsWith(`wallet-${tag}-`));
  const perUser = new Map<string, number>();
  for (const e of charged) perUser.set(e.data.userId, (perUser.get(e.data.userId) ?? 0) + 1);
  const answered = okPerUser.reduce((a, b) => a + b, 0);
  checks.push(check('every 200 is one PointsCharged in the log, none more', charged.length === answered, `${answered} answered 200, ${charged.length} events`));
  const mismatched = users.filter((u, i) => (perUser.get(u) ?? 0) !== okPerUser[i]);
  checks.push(check('per user, charges in the log = 200s received', mismatched.length === 0, `${mismatched.length} of ${users.length} users differ`));
  const head = position(ctx.reader.head());
  const sample = users.slice(0, 25);
  const wrong: string[] = [];
  await inParallel(sample, 5, async (userId, i) => {
    const res = await call(ctx.server.url, 'GET', '/me/points', { token: userTokens[i], headers: { 'X-Consistent-With': head } });
    const expected = 100 * okPerUser[i];
    if (res.status !== 200 || res.body.balance !== expected) wrong.push(`${userId}: ${res.status} ${JSON.stringify(res.body)} expected ${expected}`);
  });
  checks.push(check('balance read model = the log (25 users, X-Consistent-With)', wrong.length === 0, wrong.slice(0, 3).join('; ') || '25 of 25 match'));
  return { stats, cpuUsPerRequest, checks, unexpected };
}

export async function chargeMain(ctx: MainContext): Promise<Measured> {
  const users = Array.from({ length: settings.chargeUsers }, (_, i) => `charger-${i}`);
  const { stats, cpuUsPerRequest, checks, unexpected } = await chargeScenario(ctx, users, await tokens.mintMany(users), 'charger');
  return measured(ctx, { stats, cpuUsPerRequest, unexpected }, {
    id: 'charge',
    title: 'POST /me/points/charge',
    description: `charge 100 points; ${users.length} users in turn`,
    load: 'closed loop, fixed request count ≈ warm-up rate × duration',
    goal: { ratio: 0.6 },
    checks,
  });
}
