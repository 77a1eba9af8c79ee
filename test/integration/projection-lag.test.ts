import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Projector } from '../../projections/runtime';
import { bearer, startTestApp, TestApp } from '../support/app';
import { eventually } from '../support/eventually';

interface Status {
  name: string;
  caughtUp: boolean;
  lagEvents: number;
  lagEventsCapped: boolean;
  lagMs: number | null;
}

/** Events no projection handles, in one append: a long lag without a thousand requests. */
const noise = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: randomUUID(), type: 'LagNoise', data: { i, occurredAt: new Date().toISOString() } }));

describe('projection lag, in events and in milliseconds', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    // Held until the test starts them, so a write stays behind for as long as the test needs.
    t = await startTestApp({ env: { RUN_PROJECTIONS: 'false' } });
    admin = await t.tokenFor('lag-admin', 'admin');
  });
  afterAll(async () => t?.close());

  const balances = async (): Promise<Status> => {
    const res = await t.http().get('/admin/projections').set(bearer(admin));
    expect(res.status).toBe(200);
    return (res.body.items as Status[]).find((item) => item.name === 'balances')!;
  };
  const scraped = async (metric: string) => {
    const text = (await t.http().get('/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith(`${metric}{projection="balances"}`));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  it('counts the events behind and their age while the projections are held, and 0 once they catch up', async () => {
    expect(await balances()).toMatchObject({ caughtUp: true, lagEvents: 0, lagMs: 0 });
    const customer = await t.tokenFor('lagging');
    for (let i = 0; i < 3; i++) expect((await t.http().post('/me/points/charge').set(bearer(customer)).send({ amount: 10 })).status).toBe(200);
    const headOffset = Number((await t.app.services.events.headPosition())!);

    const behind = await eventually(balances, (s) => (s.lagMs ?? 0) >= 100);
    // Nothing has been projected: every event of the log (the three charges) is past the checkpoint.
    expect(behind).toMatchObject({ caughtUp: false, lagEvents: headOffset });
    expect(await scraped('eventmart_projection_lag_events')).toBe(headOffset);
    expect(await scraped('eventmart_projection_lag_ms')).toBeGreaterThanOrEqual(100);

    t.app.projector.start();
    expect(await eventually(balances, (s) => s.caughtUp)).toMatchObject({ lagEvents: 0, lagMs: 0 });
    expect(await eventually(() => scraped('eventmart_projection_lag_events'), (v) => v === 0)).toBe(0);
    expect(await scraped('eventmart_projection_lag_ms')).toBe(0);
  });

  it('counts a lag of more than a thousand events exactly, on the API and on /metrics', async () => {
    await t.app.projector.stop();
    await t.app.services.events.append([{ stream: `lag-noise-${randomUUID()}`, expectedRevision: 'no_stream', events: noise(1_500) }]);
    expect(await balances()).toMatchObject({ caughtUp: false, lagEvents: 1_500, lagEventsCapped: false });
    expect(await eventually(() => scraped('eventmart_projection_lag_events'), (v) => v === 1_500)).toBe(1_500);
    expect(await scraped('eventmart_projection_lag_events_capped')).toBe(0);

    t.app.projector.start();
    expect(await eventually(balances, (s) => s.caughtUp)).toMatchObject({ lagEvents: 0, lagEventsCapped: false });
  });

  it('stops counting at its limit and says that the count is capped', async () => {
    const { events, documents } = t.app.services;
    const limited = new Projector(events, documents, t.app.projector.projections, pino({ level: 'silent' }), { lagCountLimit: 200 });
    await t.app.projector.stop();
    await events.append([{ stream: `lag-noise-${randomUUID()}`, expectedRevision: 'no_stream', events: noise(300) }]);
    const [status] = (await limited.status()).filter((item) => item.name === 'balances');
    expect(status).toMatchObject({ caughtUp: false, lagEvents: 200, lagEventsCapped: true });
    t.app.projector.start();
  });
});
