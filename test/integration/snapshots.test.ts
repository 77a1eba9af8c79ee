import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteSnapshotStore } from '../../src/shared/snapshots/sqlite';
import { bearer, startTestApp, TestApp } from '../support/app';

/** The composition root's wiring: SNAPSHOT_EVERY reaches the command handler, snapshots.db survives a restart, and losing it loses nothing. */
describe('aggregate snapshots in the running app', () => {
  const env = { SNAPSHOT_EVERY: '5' };
  let t: TestApp;
  afterEach(() => t?.close());

  const charge = async (app: TestApp, amount: number) => {
    const res = await app.http().post('/me/points/charge').set(bearer(await app.tokenFor('saver'))).send({ amount });
    expect(res.status).toBe(200);
    return res.body.balance as number;
  };
  const snapshotOf = async (dataDir: string, stream: string) => {
    const store = new SqliteSnapshotStore(join(dataDir, 'snapshots.db'));
    try {
      return await store.read(stream);
    } finally {
      await store.close();
    }
  };

  it('snapshots a wallet every SNAPSHOT_EVERY events and keeps its balance right across restarts, with or without the file', async () => {
    t = await startTestApp({ env });
    for (let i = 0; i < 12; i += 1) await charge(t, 10);
    await t.stop();
    expect((await snapshotOf(t.dataDir, 'wallet-saver'))?.revision).toBe(9n);

    t = await startTestApp({ env, dataDir: t.dataDir });
    expect(await charge(t, 10)).toBe(130);
    await t.stop();

    rmSync(join(t.dataDir, 'snapshots.db'));
    t = await startTestApp({ env, dataDir: t.dataDir });
    expect(await charge(t, 10)).toBe(140);
    await t.stop();
    // The cold load folded the 13 events there were and snapshotted them before the charge.
    expect((await snapshotOf(t.dataDir, 'wallet-saver'))?.revision).toBe(12n);
  });

  it('takes none with SNAPSHOT_EVERY=0', async () => {
    t = await startTestApp({ env: { SNAPSHOT_EVERY: '0' } });
    for (let i = 0; i < 6; i += 1) await charge(t, 10);
    await t.stop();
    expect(existsSync(join(t.dataDir, 'snapshots.db'))).toBe(false);
  });
});
