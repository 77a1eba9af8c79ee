import { Redis } from 'ioredis';
import { REDIS_URL } from '../support/app';
import { Cluster } from './support/cluster';
import { Proc, until } from './support/processes';

jest.setTimeout(120_000);

const LEASE_MS = 4_000;
let PROJECTIONS: string[] = [];

/** Whose process holds each projection's lease, by the pid in the owner name (`instance|pid:random`). */
async function holders(redis: Redis, prefix: string): Promise<Map<string, number | null>> {
  const owners = await Promise.all(PROJECTIONS.map((name) => redis.get(`${prefix}lease:{projection:${name}}`)));
  return new Map(PROJECTIONS.map((name, i) => [name, owners[i] === null ? null : Number(owners[i]!.split('|')[1].split(':')[0])]));
}

const took = (proc: Proc) => [...proc.output.matchAll(/"projection":"([^"]+)"[^\n]*"msg":"took the projection lease"/g)].map((m) => m[1]);

describe('projection leases across processes', () => {
  let cluster: Cluster;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    // The first API runs the projections in-process, like the embedded default; the leases are logged at info.
    cluster = await Cluster.start({ apis: 1, projectors: 0, redisUrl: REDIS_URL, env: { RUN_PROJECTIONS: 'true', LOG_LEVEL: 'info', PROJECTION_LEASE_MS: String(LEASE_MS) } });
    await cluster.addApi({ RUN_PROJECTIONS: 'false' });
    const status = await cluster.must({ method: 'GET', path: '/admin/projections', token: await cluster.admin() });
    PROJECTIONS = (status.items as { name: string }[]).map((p) => p.name);
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
    redis?.disconnect();
  });

  const charge = async (userId: string) => cluster.must({ method: 'POST', path: '/me/points/charge', token: await cluster.token(userId), body: { amount: 100 } });
  const heldBy = async (pids: readonly number[]) => [...(await holders(redis, cluster.env.REDIS_PREFIX)).values()].every((pid) => pid !== null && pids.includes(pid));

  it('lets one process run each projection, and hands over within the lease time when the holder dies or stops', async () => {
    const [inProcess] = cluster.apis;
    await until(() => heldBy([inProcess.pid!]), 'the API with RUN_PROJECTIONS=true to take every lease');
    const projectors = [await cluster.addProjector({ LOG_LEVEL: 'info' }), await cluster.addProjector({ LOG_LEVEL: 'info' })];
    await charge('lease-1');
    await cluster.caughtUp();
    // The projectors run and follow the log, but run nothing while the API holds the leases.
    expect(projectors.flatMap(took)).toEqual([]);

    const killedAt = Date.now();
    await inProcess.stop('SIGKILL');
    await until(() => heldBy(projectors.map((p) => p.pid!)), 'the projectors to take over every lease', 3 * LEASE_MS);
    const handover = Date.now() - killedAt;
    // Each projection went to exactly one of them (their logs arrive through a pipe, a moment later).
    await until(() => projectors.flatMap(took).length >= PROJECTIONS.length, 'the projectors to log their leases', 5_000);
    expect(projectors.flatMap(took).sort()).toEqual([...PROJECTIONS].sort());
    // Lapsed, not released: at most the TTL plus one retry interval, plus start-up slack.
    expect(handover).toBeLessThan(LEASE_MS + LEASE_MS / 3 + 2_000);
    await charge('lease-2');
    await cluster.caughtUp();

    const [leaving, staying] = took(projectors[0]).length > 0 ? projectors : [projectors[1], projectors[0]];
    const stoppedAt = Date.now();
    expect(await leaving.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    await until(() => heldBy([staying.pid!]), 'the remaining projector to take every lease', 3 * LEASE_MS);
    // Released on a clean stop: taken at the next attempt, well before the lease would lapse.
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_MS);
    await charge('lease-3');
    await cluster.caughtUp();
  });
});
