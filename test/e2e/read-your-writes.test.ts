import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/app';
import { Cluster, ok, Outcome, send } from './support/cluster';
import { until } from './support/processes';

jest.setTimeout(120_000);

const health = async (port: number) => (await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(500) })).status === 200;

interface Lease {
  readonly owner: string | null;
  readonly fence: number;
}

describe('a crash of the instance that runs the projections', () => {
  let cluster: Cluster;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    // The default lease: a restart that waited its own lease out would take 10 s and more.
    cluster = await Cluster.start({ apis: 1, projectors: 0, redisUrl: REDIS_URL, env: { RUN_PROJECTIONS: 'true', PROJECTION_LEASE_MS: '10000' } });
    await cluster.addApi({ RUN_PROJECTIONS: 'false' });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
    redis?.disconnect();
  });

  /** GET /admin/projections from the instance that does not run them (the other one may be frozen): stored checkpoints. */
  async function projections(): Promise<{ name: string; checkpoint: string | null }[]> {
    const outcome = await send(cluster.agent, cluster.apis[1].port!, { method: 'GET', path: '/admin/projections', token: await cluster.admin() });
    if (!ok(outcome)) throw new Error(`GET /admin/projections: ${JSON.stringify(outcome)}`);
    return (outcome as { body: { items: { name: string; checkpoint: string | null }[] } }).body.items;
  }

  /** Each projection's lease as Redis holds it: its owner (`<instance>|<pid>:<random>`) and its fencing counter. */
  async function leases(): Promise<Map<string, Lease>> {
    const names = (await projections()).map((item) => item.name);
    const key = (name: string) => `${cluster.env.REDIS_PREFIX}lease:{projection:${name}}`;
    const held = await Promise.all(names.map(async (name) => [await redis.get(key(name)), Number(await redis.get(`${key(name)}:fence`))] as const));
    return new Map(names.map((name, i) => [name, { owner: held[i][0], fence: held[i][1] }]));
  }

  it('is projecting again, with the user reading their own charge, within 1 s of its restart answering /health', async () => {
    const [projecting, other] = cluster.apis;
    const token = await cluster.token('crash-reader');
    const balanceCheckpoint = async () => (await projections()).find((item) => item.name === 'balances')!.checkpoint;
    expect(ok(await send(cluster.agent, other.port!, { method: 'POST', path: '/me/points/charge', token, body: { amount: 100 } }))).toBe(true);
    await cluster.caughtUp();
    const before = await leases();
    expect([...before.values()].every((lease) => lease.owner?.startsWith(`api-1|${projecting.pid}:`))).toBe(true);

    // Frozen, it still holds every lease and projects nothing: the charge below is certainly not in any read model when it dies.
    process.kill(projecting.pid!, 'SIGSTOP');
    const charged = await send(cluster.agent, other.port!, { method: 'POST', path: '/me/points/charge', token, body: { amount: 100 } });
    expect(charged).toMatchObject({ kind: 'answered', status: 200, body: { balance: 200 } });
    const charge = (charged as { body: { position: string } }).body.position;
    expect((await balanceCheckpoint())! < charge).toBe(true);
    await projecting.stop('SIGKILL');
    expect((await balanceCheckpoint())! < charge).toBe(true);

    projecting.start();
    await until(() => health(projecting.port!), `${projecting.name} to answer /health\n${projecting.output}`, 30_000, 10);
    const answering = Date.now();
    const reads: Outcome[] = await Promise.all(
      [projecting, other].map((api) => send(cluster.agent, api.port!, { method: 'GET', path: '/me/points', token })),
    );
    const waited = Date.now() - answering;
    expect(reads).toEqual([0, 1].map(() => ({ kind: 'answered', status: 200, body: { userId: 'crash-reader', balance: 200 } })));
    expect(waited).toBeLessThan(1_000);
    // Taken over from its earlier life, not waited out: every lease is the new process's, under a larger fence.
    const after = await leases();
    for (const [name, lease] of after) {
      expect({ name, owner: lease.owner?.startsWith(`api-1|${projecting.pid}:`) }).toEqual({ name, owner: true });
      expect(lease.fence).toBeGreaterThan(before.get(name)!.fence);
    }
    console.log(`read-your-writes after kill -9 and restart: both reads answered ${waited} ms after /health`);
  });
});
