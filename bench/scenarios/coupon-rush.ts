/** POST /coupons/{id}/issue: 20,000 distinct users for 1,000 coupons; exactly 1,000 must win. */
import { call, position } from '../lib/api';
import { cannon } from '../lib/load';
import { settings, tokens, withCpu, check, MainContext, Measured, measured } from '../lib/harness';

export async function couponRush(ctx: MainContext): Promise<Measured> {
  const created = await call(ctx.server.url, 'POST', '/admin/coupons', {
    token: ctx.admin,
    body: { name: 'Bench rush', discount: { type: 'FIXED', amount: 1000 }, totalQuantity: settings.rushQuantity },
  });
  if (created.status !== 201) throw new Error(`coupon not created: ${created.status} ${JSON.stringify(created.body)}`);
  const couponId = created.body.couponId as string;
  const users = Array.from({ length: settings.rushRequests }, (_, i) => `rusher-${i}`);
  const userTokens = await tokens.mintMany(users);
  const outcomes: Record<string, number> = {};
  const winners = new Set<string>();
  let next = 0;
  const { stats, cpuUsPerRequest } = await withCpu(ctx.server, ctx.admin, () =>
    cannon({
      url: ctx.server.url,
      connections: settings.connections,
      amount: settings.rushRequests,
      requests: [
        {
          method: 'POST',
          path: `/coupons/${couponId}/issue`,
          setupRequest: (req, context) => {
            const i = next++;
            context.user = i;
            return { ...req, headers: { authorization: `Bearer ${userTokens[i % userTokens.length]}` } };
          },
          onResponse: (status, body, context) => {
            let key = String(status);
            if (status === 201) winners.add(users[context.user as number]);
            else {
              try {
                key = `${status} ${JSON.parse(body).code}`;
              } catch {
                // not JSON
              }
            }
            outcomes[key] = (outcomes[key] ?? 0) + 1;
          },
        },
      ],
    }),
  );
  await ctx.reader.refresh();
  const issued = ctx.reader.stream(`coupon-${couponId}`).filter((e) => e.type === 'CouponIssued');
  const holders = new Set(issued.map((e) => e.data.userId as string));
  const view = await call(ctx.server.url, 'GET', `/coupons/${couponId}`, { headers: { 'X-Consistent-With': position(ctx.reader.head()) } });
  const expectedOutcomes = { '201': settings.rushQuantity, '409 COUPON_SOLD_OUT': settings.rushRequests - settings.rushQuantity };
  const unexpected = Object.entries(outcomes).reduce((sum, [key, count]) => (key in expectedOutcomes ? sum : sum + count), 0);
  return measured(ctx, { stats, cpuUsPerRequest, unexpected }, {
    id: 'coupon-rush',
    title: 'POST /coupons/{id}/issue (rush)',
    description: `${settings.rushRequests.toLocaleString('en-US')} distinct users, ${settings.rushQuantity.toLocaleString('en-US')} coupons`,
    load: `closed loop, exactly ${settings.rushRequests} requests`,
    goal: { ratio: 0.5 },
    checks: [
      check(
        `exactly ${settings.rushQuantity} × 201 and ${settings.rushRequests - settings.rushQuantity} × 409 COUPON_SOLD_OUT`,
        JSON.stringify(Object.entries(outcomes).sort()) === JSON.stringify(Object.entries(expectedOutcomes).sort()),
        JSON.stringify(outcomes),
      ),
      check(`the coupon's stream holds exactly ${settings.rushQuantity} CouponIssued, one per user`, issued.length === settings.rushQuantity && holders.size === issued.length, `${issued.length} issued, ${holders.size} distinct users`),
      check('the holders in the log are exactly the users who got 201', holders.size === winners.size && [...winners].every((u) => holders.has(u)), `${winners.size} winners`),
      check(
        'coupon read model: issuedQuantity = quantity, remaining 0',
        view.status === 200 && view.body.issuedQuantity === settings.rushQuantity && view.body.remainingQuantity === 0,
        JSON.stringify({ issued: view.body.issuedQuantity, remaining: view.body.remainingQuantity }),
      ),
    ],
  });
}
