import { REDIS_URL } from '../support/app';
import { Cluster, ok, Outcome, send } from './support/cluster';
import { until } from './support/processes';

jest.setTimeout(120_000);

const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) })).status === 200;

describe('a crash of the instance that runs the projections', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    // The default lease: a restart that waited its own lease out would take 10 s and more.
    cluster = await Cluster.start({ apis: 1, projectors: 0, redisUrl: REDIS_URL, env: { RUN_PROJECTIONS: 'true', PROJECTION_LEASE_MS: '10000' } });
    await cluster.addApi({ RUN_PROJECTIONS: 'false' });
  }, 60_000);
  afterAll(async () => cluster?.close());

  it('is projecting again, with the user reading their own charge, within 1 s of its restart answering /health', async () => {
    const [projecting, other] = cluster.apis;
    const token = await cluster.token('crash-reader');
    const charge = () => send(cluster.agent, projecting.port!, { method: 'POST', path: '/me/points/charge', token, body: { amount: 100 } });
    expect(ok(await charge())).toBe(true);
    await cluster.caughtUp();

    const charged = await charge();
    await projecting.stop('SIGKILL');
    expect(charged).toMatchObject({ kind: 'answered', status: 200, body: { balance: 200 } });

    projecting.start();
    await until(() => health(projecting.port!), `${projecting.name} to answer /health\n${projecting.output}`, 30_000, 10);
    const answering = Date.now();
    const reads: Outcome[] = await Promise.all(
      [projecting, other].map((api) => send(cluster.agent, api.port!, { method: 'GET', path: '/me/points', token })),
    );
    const waited = Date.now() - answering;
    expect(reads).toEqual([0, 1].map(() => ({ kind: 'answered', status: 200, body: { userId: 'crash-reader', balance: 200 } })));
    expect(waited).toBeLessThan(1_000);
    console.log(`read-your-writes after kill -9 and restart: both reads answered ${waited} ms after /health`);
  });
});
