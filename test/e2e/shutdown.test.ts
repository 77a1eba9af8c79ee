import { Agent } from 'node:http';
import { REDIS_URL } from '../support/app';
import { Cluster, ok, Outcome, send } from './support/cluster';
import { until } from './support/processes';

jest.setTimeout(120_000);

describe('SIGTERM during a stream of requests', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ apis: 1, projectors: 0, redisUrl: REDIS_URL, env: { RUN_PROJECTIONS: 'true' } });
  }, 60_000);
  afterAll(async () => cluster?.close());

  it('answers every request it took, refuses the rest, stops the projections at a checkpoint and exits 0', async () => {
    const [api] = cluster.apis;
    // A connection per request: a refused connection then means the request reached nobody.
    const agent = new Agent({ keepAlive: false });
    const sent: Array<{ userId: string; amount: number; outcome: Outcome }> = [];
    let answered = 0;
    let stopping = false;
    const stream = async (lane: number) => {
      const userId = `shutdown-${lane}`;
      const token = await cluster.token(userId);
      for (let amount = 1; ; amount++) {
        const outcome = await send(agent, api.port!, { method: 'POST', path: '/me/points/charge', token, body: { amount }, idempotencyKey: `${userId}-${amount}` });
        sent.push({ userId, amount, outcome });
        if (outcome.kind === 'answered') answered++;
        if (outcome.kind === 'refused' && stopping) return;
      }
    };
    const lanes = Promise.all(Array.from({ length: 16 }, (_, lane) => stream(lane)));
    await until(() => answered >= 200, 'a steady stream of answers');
    stopping = true;
    const exit = await api.stop('SIGTERM');
    await lanes;

    expect(exit).toEqual({ code: 0, signal: null });
    const log = await cluster.readLog();
    const landed = (s: (typeof sent)[number]) => (log.charges.get(s.userId) ?? []).includes(s.amount);
    expect(sent.filter((s) => s.outcome.kind === 'answered' && !ok(s.outcome))).toEqual([]);
    expect(sent.filter((s) => ok(s.outcome) && !landed(s))).toEqual([]);
    // A connection the kernel had accepted when the listener closed is reset unread: such a request wrote nothing.
    expect(sent.filter((s) => s.outcome.kind !== 'answered' && landed(s))).toEqual([]);
    for (const charges of log.charges.values()) expect(new Set(charges).size).toBe(charges.length);

    // Each read model stopped at a checkpoint: what it holds is exactly a replay up to there.
    const verified = await cluster.verify();
    if (verified.code !== 0) throw new Error(`npm run verify exited ${verified.code}:\n${verified.output}`);
  });
});
