import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { ProjectionWaiter } from '../../projections/consistency';
import { Projection } from '../../projections/projection';
import { Projector, ProjectorOptions } from '../../projections/runtime';
import { Checkpoint } from '../../src/shared/documents/port';
import { SqliteDocumentStore } from '../../src/shared/documents/sqlite';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { InProcessLeaseService } from '../../src/shared/lease/memory';
import { eventually } from '../support/eventually';

const logger = pino({ level: 'silent' });
/** Long enough that neither the bound nor an idle poll stores a checkpoint while a test runs, unless it says otherwise. */
const NEVER = 600_000;

/** Counts the events of one type, so a batch applied twice shows in the count. */
function counter(name: string, type: string): Projection {
  return {
    name,
    collections: [{ name, indexes: [] }],
    eventTypes: new Set([type]),
    async apply(_event, view) {
      const doc = await view.get<{ id: string; count: number }>(name, 'all');
      view.upsert(name, { id: 'all', count: (doc?.count ?? 0) + 1 });
    },
  };
}

describe('checkpoints of batches a projection ignores', () => {
  let events: SqliteEventStore;
  let documents: SqliteDocumentStore;
  let projectors: Projector[];
  /** Every checkpoint the real store was asked to write, in order. */
  let written: Checkpoint[];

  const append = async (type: string) => {
    await events.append([{ stream: `s-${randomUUID()}`, expectedRevision: 'no_stream', events: [{ id: randomUUID(), type, data: {} }] }]);
    return (await events.headPosition())!;
  };
  const appendMany = async (types: readonly string[]) => {
    const positions: string[] = [];
    for (const type of types) positions.push(await append(type));
    return positions;
  };
  const writesOf = (projection: string) => written.filter((c) => c.projection === projection).map((c) => c.position);
  const count = async (name: string) => (await documents.get<{ id: string; count: number }>(name, 'all'))?.count ?? 0;
  const projectorOf = async (projections: readonly Projection[], options: ProjectorOptions) => {
    const projector = new Projector(events, documents, projections, logger, options);
    await projector.init();
    projectors.push(projector);
    return projector;
  };

  beforeEach(() => {
    events = new SqliteEventStore(':memory:');
    documents = new SqliteDocumentStore(':memory:');
    projectors = [];
    written = [];
    const write = documents.write.bind(documents);
    jest.spyOn(documents, 'write').mockImplementation(async (writes, checkpoint) => {
      if (checkpoint) written.push(checkpoint);
      return write(writes, checkpoint);
    });
  });
  afterEach(async () => {
    await Promise.all(projectors.map((p) => p.stop()));
    await events.close();
    await documents.close();
  });

  it('lets appends made close together gather, then reads them in one batch', async () => {
    const projector = await projectorOf([counter('charges', 'Charged')], { pollMs: NEVER, checkpointPersistMs: NEVER, gatherMs: 300 });
    projector.start();
    const idle = await append('Other');
    await eventually(() => projector.reached('charges'), (reached) => reached === idle);
    // 40 ms apart: time enough for a loop woken at once to read each on its own.
    const positions: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 40));
      positions.push(await append('Charged'));
    }
    await eventually(() => count('charges'), (n) => n === 3);
    expect(writesOf('charges')).toEqual([positions[2]]);
  });

  it('does not commit a batch it ignores, yet a read-your-writes wait in this process passes it at once', async () => {
    const projector = await projectorOf([counter('charges', 'Charged'), counter('refunds', 'Refunded')], { pollMs: NEVER, checkpointPersistMs: NEVER });
    projector.start();
    const position = await append('Charged');
    await eventually(() => projector.reached('refunds'), (reached) => reached === position);
    await eventually(() => projector.reached('charges'), (reached) => reached === position);

    expect(writesOf('charges')).toEqual([position]);
    expect(writesOf('refunds')).toEqual([]);
    expect(await documents.getCheckpoint('refunds')).toBeNull();
    // No time to wait: it passes on the first look, or it fails.
    await expect(new ProjectionWaiter(documents, 0, projector).waitFor(['charges', 'refunds'], position)).resolves.toBeUndefined();
    // Stored checkpoints alone do not show it: this one is not stored yet.
    await expect(new ProjectionWaiter(documents, 0).waitFor(['refunds'], position)).rejects.toMatchObject({ status: 503 });
    // The admin status is about this process's runner, so it reports it caught up.
    expect(await projector.status()).toContainEqual({ name: 'refunds', checkpoint: position, head: position, caughtUp: true, rebuilding: null, lagEvents: 0, lagEventsCapped: false, lagMs: 0 });
    // A process that does not run the projection (an API beside the projector) sees that the log up to the position holds nothing for it.
    const elsewhere = await projectorOf([counter('charges', 'Charged'), counter('refunds', 'Refunded')], {});
    await expect(new ProjectionWaiter(documents, 0, elsewhere).waitFor(['refunds'], position)).resolves.toBeUndefined();
    // Looked at before the runner's next turn (appends gather for a few ms first): a refund is something to wait for.
    const refund = await append('Refunded');
    await expect(new ProjectionWaiter(documents, 0, elsewhere).waitFor(['refunds'], refund)).rejects.toMatchObject({ status: 503 });
  });

  it('stores the checkpoint once the loop has been idle for a poll interval, and only once', async () => {
    let idlePolls = 0;
    const refunds: Projection = {
      ...counter('refunds', 'Refunded'),
      async recover() {
        idlePolls += 1;
      },
    };
    const projector = await projectorOf([refunds], { pollMs: 20, checkpointPersistMs: NEVER });
    projector.start();
    const position = (await appendMany(['Charged', 'Charged', 'Charged'])).at(-1)!;
    await eventually(() => documents.getCheckpoint('refunds'), (checkpoint) => checkpoint === position);
    const stored = idlePolls;
    await eventually(() => idlePolls, (polls) => polls >= stored + 3);
    expect(writesOf('refunds')).toEqual([position]);
  });

  it('checks for repairs at most once a poll interval, not after every batch', async () => {
    let checks = 0;
    const refunds: Projection = {
      ...counter('refunds', 'Refunded'),
      async recover() {
        checks += 1;
      },
    };
    const projector = await projectorOf([refunds], { pollMs: 60_000 });
    projector.start();
    for (let i = 0; i < 5; i += 1) {
      const position = await append('Refunded');
      await eventually(() => projector.reached('refunds'), (reached) => reached === position);
    }
    expect(checks).toBe(1);
  });

  it('stores the checkpoint when the bound runs out while ignored batches keep coming', async () => {
    let clock = 0;
    const projector = await projectorOf([counter('refunds', 'Refunded')], { batchSize: 1, checkpointPersistMs: 1_000, now: () => clock });
    const positions = await appendMany(Array.from({ length: 12 }, () => 'Charged'));
    await projector.catchUp('refunds', {
      onBatch: () => {
        clock += 300;
      },
    });
    // Trailing from the first batch at 0 ms, overdue at the fifth (1200 ms); again from the sixth
    // (1500 ms), overdue at the tenth (2700 ms); the last two are stored when the catch-up ends.
    expect(writesOf('refunds')).toEqual([positions[4], positions[9], positions[11]]);
  });

  it('stores the checkpoint it reached when it stops', async () => {
    const projector = await projectorOf([counter('refunds', 'Refunded')], { pollMs: NEVER, checkpointPersistMs: NEVER });
    projector.start();
    const position = await append('Charged');
    await eventually(() => projector.reached('refunds'), (reached) => reached === position);
    expect(await documents.getCheckpoint('refunds')).toBeNull();
    await projector.stop();
    expect(await documents.getCheckpoint('refunds')).toBe(position);
  });

  it('stores nothing on stop once its lease has lapsed', async () => {
    const leases = new InProcessLeaseService();
    const projector = await projectorOf([counter('refunds', 'Refunded')], {
      pollMs: NEVER,
      checkpointPersistMs: NEVER,
      lease: { service: leases, ttlMs: 300, owner: 'a' },
    });
    projector.start();
    const position = await append('Charged');
    await eventually(() => projector.reached('refunds'), (reached) => reached === position);
    // Asleep until the next append, the runner does not renew: its lease lapses and another owner takes it.
    await eventually(() => leases.acquire('projection:refunds', 'b', NEVER), (grant) => grant !== null);
    // Taking the lease stored its token with the checkpoint (see Projector.fence); stopping now adds nothing.
    const before = [...written];
    expect(before[0]).toEqual({ projection: 'refunds', position: null, previous: null, fence: expect.any(Number) });
    await projector.stop();
    expect(written).toEqual(before);
    expect(await documents.getCheckpoint('refunds')).toBe(before.at(-1)!.position);
  });

  it('leaves the stored checkpoint at the head after a catch-up, with one commit for a log it ignores', async () => {
    const projector = await projectorOf([counter('refunds', 'Refunded')], { batchSize: 5, checkpointPersistMs: NEVER });
    const positions = await appendMany(Array.from({ length: 23 }, () => 'Charged'));
    await projector.catchUp();
    expect(writesOf('refunds')).toEqual([positions.at(-1)]);
    expect(await documents.getCheckpoint('refunds')).toBe(await events.headPosition());
  });

  it('two runners still apply each event once when the stored checkpoints trail their own', async () => {
    // Runs of events the projection ignores, so both runners often stand ahead of what is stored.
    const types = Array.from({ length: 300 }, (_, i) => (i % 17 < 3 || i % 41 === 0 ? 'Refunded' : 'Charged'));
    await appendMany(types);
    const runners = await Promise.all(
      [7, 11].map((batchSize) => projectorOf([counter('refunds', 'Refunded')], { batchSize, checkpointPersistMs: 0 })),
    );
    await Promise.all(runners.map((runner) => runner.catchUp()));
    expect(await count('refunds')).toBe(types.filter((t) => t === 'Refunded').length);
    expect(await documents.getCheckpoint('refunds')).toBe(await events.headPosition());
  });
});
