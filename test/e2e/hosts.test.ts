import { execFileSync } from 'node:child_process';
import { Cluster } from './support/cluster';
import { PREFIX } from './support/hosts';
import { apiReady, until } from './support/processes';
import { describeOnSeparateHosts } from './support/separate-hosts';

jest.setTimeout(60_000);

const answersHealth = (address: string, port: number) =>
  fetch(`http://${address}:${port}/health`, { signal: AbortSignal.timeout(1_000) }).then(
    (res) => res.status === 200,
    () => false,
  );
const ours = (what: string[]) => execFileSync('ip', what).toString().split('\n').filter((line) => line.includes(PREFIX));

/**
 * The harness of the cluster suite proves itself: processes on hosts of their own, reached over
 * the bridge only, servers on a database host, a partition that really cuts a host off, kill -9
 * and restart, and nothing left behind.
 */
describeOnSeparateHosts('separate hosts on a bridge (the cluster harness)', { loopbackToo: false }, (machines) => {
  const hosts = () => ({ ...machines(), ...machines().hosts! });
  let cluster: Cluster;
  beforeAll(async () => {
    const { apis, projector, redis } = hosts();
    // Embedded stores, one per process: this checks the hosts and the process control only.
    cluster = await Cluster.start({ apis: 3, projectors: 1, redisUrl: redis.url, ownDataDirs: true, places: { api: (n) => apis[n - 1], projector: () => projector } });
  }, 60_000);
  afterAll(async () => cluster?.close());

  it('runs each API on its own host, reached at its own address and not on this machine’s loopback', async () => {
    const { apis } = hosts();
    expect(cluster.apis.map((api) => api.address)).toEqual(apis.map((host) => host.address));
    for (const api of cluster.apis) {
      expect(await answersHealth(api.address, api.port!)).toBe(true);
      expect(await answersHealth('127.0.0.1', api.port!)).toBe(false);
      // Ready: its Redis, on the database host, answers it.
      expect(await apiReady(api.port!, api.address)).toBe(true);
    }
  });

  it('reaches PostgreSQL on the database host from every host, and sees it go and come back', async () => {
    const { apis, projector, postgres } = hosts();
    for (const host of [...apis, projector]) expect(await postgres.answers(host)).toBe(true);
    await postgres.stop('immediate');
    expect(await postgres.answers(apis[0])).toBe(false);
    await postgres.start();
    expect(await postgres.answers(apis[0])).toBe(true);
  });

  it('cuts one host off in a partition while the others answer, and heals', async () => {
    const { apis, postgres } = hosts();
    const [first, second] = cluster.apis;
    apis[1].partition();
    try {
      await until(async () => !(await answersHealth(second.address, second.port!)), 'the partitioned API to stop answering', 10_000);
      expect(await postgres.answers(apis[1])).toBe(false);
      expect(await answersHealth(first.address, first.port!)).toBe(true);
    } finally {
      apis[1].heal();
    }
    await until(() => answersHealth(second.address, second.port!), 'the healed API to answer again', 10_000);
    expect(await postgres.answers(apis[1])).toBe(true);
  });

  it('kills an API -9 on its host and starts it again there', async () => {
    const third = cluster.apis[2];
    const exit = await third.stop('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    expect(await answersHealth(third.address, third.port!)).toBe(false);
    await cluster.launch(third);
    expect(await answersHealth(third.address, third.port!)).toBe(true);
  });

  it('leaves no namespace or link behind', async () => {
    await cluster.close();
    hosts().lan.remove();
    expect(ours(['netns', 'list'])).toEqual([]);
    expect(ours(['-o', 'link', 'show'])).toEqual([]);
  });
});
