/** The snapshot store port's contract: one row per stream, never a newer revision replaced by an older one. */
import { randomUUID } from 'node:crypto';
import type { Snapshot, SnapshotStore } from '../../src/shared/snapshots/port';

export function snapshotStoreContract(make: () => Promise<SnapshotStore>): void {
  let store: SnapshotStore;
  let stream: string;
  const snapshot = (revision: bigint, fingerprint = 'f1', bytes = `state at ${revision}`): Snapshot => ({
    stream,
    fingerprint,
    revision,
    eventId: randomUUID(),
    state: Buffer.from(bytes),
  });

  beforeEach(async () => {
    store = await make();
    stream = `product-${randomUUID()}`;
  });
  afterEach(() => store.close());

  it('has nothing for a stream never written', async () => {
    expect(await store.read(stream)).toBeNull();
  });

  it('gives back what was written, bytes and big revisions included', async () => {
    const written = { ...snapshot(2n ** 40n), state: Buffer.from([0, 255, 1, 0, 128]) };
    await store.write(written);
    expect(await store.read(stream)).toEqual(written);
  });

  it('keeps the newest revision: a later one replaces it, an older one does not', async () => {
    await store.write(snapshot(1_000n));
    const newest = snapshot(2_000n);
    await store.write(newest);
    await store.write(snapshot(1_500n));
    expect(await store.read(stream)).toEqual(newest);
  });

  it('lets another fingerprint (a new decider) replace it at any revision', async () => {
    await store.write(snapshot(2_000n, 'old'));
    const rewritten = snapshot(1_000n, 'new');
    await store.write(rewritten);
    expect(await store.read(stream)).toEqual(rewritten);
  });

  it('keeps streams apart and deletes one', async () => {
    const mine = snapshot(5n);
    await store.write(mine);
    const other = { ...snapshot(7n), stream: `${stream}-other` };
    await store.write(other);
    await store.delete(stream);
    expect(await store.read(stream)).toBeNull();
    expect(await store.read(other.stream)).toEqual(other);
  });
}
