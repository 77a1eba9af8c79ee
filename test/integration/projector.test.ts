import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { balancesProjection } from '../../projections/balances';
import { BALANCES } from '../../projections/balances';
import { Projection, projection, skip } from '../../projections/projection';
import { Projector } from '../../projections/runtime';
import { SqliteDocumentStore } from '../../src/shared/documents/sqlite';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { Doc, DocumentStore } from '../../src/shared/documents/port';
import { walletStream } from '../../src/write/wallet/decider';
import { WalletEvent } from '../../src/write/wallet/events';
import { until } from '../support/eventually';

const logger = pino({ level: 'silent' });

/** A document per charge, beside the balances' one per wallet: two read models of different shapes. */
const CHARGES = 'charges';
const chargesProjection = projection<WalletEvent>({
  name: CHARGES,
  collections: [{ name: CHARGES, indexes: [['userId', 'position']] }],
  handlers: {
    PointsCharged: (event, view) => view.upsert(CHARGES, { id: event.position, userId: event.data.userId, amount: event.data.amount, position: event.position }),
    PointsUsed: skip,
    PointsRefunded: skip,
  },
});
const allProjections = [balancesProjection, chargesProjection];

async function dump(documents: DocumentStore) {
  const all: Record<string, Doc[]> = {};
  for (const collection of [BALANCES, CHARGES]) {
    const items: Doc[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Doc[]; nextCursor: string | null } = await documents.find(collection, { limit: 100, cursor });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    all[collection] = items;
  }
  return all;
}

/** Appends `count` charges over a few wallets, each carrying its running balance. */
async function seedCharges(events: SqliteEventStore, count: number) {
  const balances = new Map<string, number>();
  for (let i = 0; i < count; i += 1) {
    const userId = `u${i % 7}`;
    const amount = (i % 13) + 1;
    const balanceAfter = (balances.get(userId) ?? 0) + amount;
    balances.set(userId, balanceAfter);
    await events.append([
      {
        stream: walletStream(userId),
        expectedRevision: 'any',
        events: [{ id: randomUUID(), type: 'PointsCharged', data: { userId, amount, balanceAfter, occurredAt: new Date(0).toISOString() } }],
      },
    ]);
  }
  return balances;
}

describe('projector', () => {
  let events: SqliteEventStore;
  let documents: SqliteDocumentStore;
  let projector: Projector;

  beforeEach(async () => {
    events = new SqliteEventStore(':memory:');
    documents = new SqliteDocumentStore(':memory:');
    projector = new Projector(events, documents, allProjections, logger, { batchSize: 37 });
    await projector.init();
  });
  afterEach(async () => {
    await projector.stop();
    await events.close();
    await documents.close();
  });

  it('catches up across many batches and stores the checkpoint with the read model', async () => {
    const balances = await seedCharges(events, 200);
    await projector.catchUp();
    for (const [userId, balance] of balances) {
      expect(await documents.get(BALANCES, userId)).toMatchObject({ balance });
    }
    const head = await events.headPosition();
    expect(await documents.getCheckpoint(BALANCES)).toBe(head);
    expect((await projector.status()).every((s) => s.caughtUp)).toBe(true);
  });

  it('a redelivered event changes nothing', async () => {
    await seedCharges(events, 30);
    await projector.catchUp();
    const before = await dump(documents);
    // Forget the checkpoints but keep the read models: every event is delivered a second time.
    for (const { name } of allProjections) await documents.write([], { projection: name, position: null });
    const again = new Projector(events, documents, allProjections, logger);
    await again.catchUp();
    expect(await documents.getCheckpoint(BALANCES)).toBe(await events.headPosition());
    expect(await dump(documents)).toEqual(before);
  });

  it('a rebuild from the start equals the live read model', async () => {
    await seedCharges(events, 50);
    projector.start();
    await seedCharges(events, 50);
    await until(async () => (await projector.status()).every((s) => s.caughtUp), 'every projection to catch up', 5_000);
    const live = await dump(documents);
    for (const projection of allProjections) await projector.rebuild(projection.name);
    expect(await dump(documents)).toEqual(live);
    expect(live[CHARGES]).toHaveLength(100);
  });

  it('two runners of one projection never apply a batch twice', async () => {
    const counting: Projection = {
      name: 'charge_counter',
      collections: [{ name: 'charge_counter', indexes: [] }],
      eventTypes: new Set(['PointsCharged']),
      async apply(_event, view) {
        const doc = await view.get<{ id: string; count: number }>('charge_counter', 'all');
        view.upsert('charge_counter', { id: 'all', count: (doc?.count ?? 0) + 1 });
      },
    };
    // Different batch sizes so the two runners' batches overlap instead of coinciding.
    const runners = [7, 11].map((batchSize) => new Projector(events, documents, [counting], logger, { batchSize }));
    await runners[0].init();
    await seedCharges(events, 300);
    await Promise.all(runners.map((runner) => runner.catchUp()));
    expect(await documents.get('charge_counter', 'all')).toEqual({ id: 'all', count: 300 });
  });

  it("reports a rebuild's progress through the log while it runs, and nothing once it is done", async () => {
    let gate: Promise<void> | null = null;
    let release = () => undefined as void;
    let held = false;
    let applied = 0;
    // Holds the rebuild inside its second batch (events 38..74 with batches of 37).
    const gated: Projection = {
      name: 'gated',
      collections: [{ name: 'gated', indexes: [] }],
      eventTypes: new Set(['PointsCharged']),
      async apply() {
        applied += 1;
        if (gate && applied === 40) {
          held = true;
          await gate;
        }
      },
    };
    const runner = new Projector(events, documents, [gated], logger, { batchSize: 37 });
    await seedCharges(events, 100);
    await runner.catchUp();
    expect((await runner.status())[0].rebuilding).toBeNull();

    applied = 0;
    gate = new Promise<void>((resolve) => (release = resolve));
    const rebuilt = runner.rebuild('gated');
    await until(async () => held, 'the gated projection to hold its batch', 5_000);
    expect((await runner.status())[0]).toMatchObject({ rebuilding: { done: 37, total: 100 }, caughtUp: false });
    release();
    await rebuilt;
    expect((await runner.status())[0]).toMatchObject({ rebuilding: null, caughtUp: true });
  });

  it('follows new appends live without being asked', async () => {
    projector.start();
    const balances = await seedCharges(events, 5);
    await until(async () => (await documents.get<{ id: string; balance: number }>(BALANCES, 'u4'))?.balance === balances.get('u4'), "u4's balance to be projected", 5_000);
  });
});

