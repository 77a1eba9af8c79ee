import { REDIS_URL } from '../support/app';
import { Cluster } from './support/cluster';
import { couponRush, payCancelRush, Rush, stockRush, walletRush } from './support/rushes';
import { describeRushes, expectSound, withChaos } from './support/verdict';

jest.setTimeout(180_000);

const rushesFor = async (cluster: Cluster, tag: string): Promise<Rush[]> => [
  await couponRush(cluster, tag, 3_000, 100),
  await stockRush(cluster, tag, 300, 20),
  await walletRush(cluster, tag, 5, 40, 40),
  await payCancelRush(cluster, tag, 60),
];

describe('three API processes and a projector process on one store and one Redis', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await Cluster.start({ apis: 3, projectors: 1, redisUrl: REDIS_URL });
  }, 60_000);
  afterAll(async () => cluster?.close());

  it('never oversells in the rushes, and every read model equals a replay of the log', async () => {
    const rushes = await rushesFor(cluster, 'calm');
    await Promise.all(rushes.map((rush) => rush.run()));
    console.log(`calm rushes:\n${describeRushes(rushes)}`);
    await expectSound(cluster, rushes, true);
  });

  it('loses no answered write when API processes and the projector are killed -9 during the rushes', async () => {
    const rushes = await rushesFor(cluster, 'chaos');
    const kills = await withChaos(cluster, Promise.all(rushes.map((rush) => rush.run())));
    console.log(`rushes under kill -9 (${kills.join(', ')}):\n${describeRushes(rushes)}`);
    expect(kills.length).toBeGreaterThanOrEqual(2);
    await expectSound(cluster, rushes, false);
  });
});
