import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Projection } from '../../projections/projection';
import { Projector } from '../../projections/runtime';
import { SqliteDocumentStore } from '../../src/shared/documents/sqlite';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { InProcessLeaseService } from '../../src/shared/lease/memory';
import { LeaseService } from '../../src/shared/lease/port';
import { DocumentStore } from '../../src/shared/documents/port';
import { until } from '../support/eventually';

const logger = pino({ level: 'silent' });
const TTL_MS = 600;

/** Counts charges and remembers which runner applied each one. */
function counter(runner: string, appliedBy: string[]): Projection {
  return {
    name: 'charges',
    collections: [{ name: 'charges', indexes: [] }],
    eventTypes: new Set(['Charged']),
    async apply(_event, view) {
      appliedBy.push(runner);
      const doc = await view.get<{ id: string; count: number }>('charges', 'all');
      view.upsert('charges', { id: 'all', count: (doc?.count ?? 0) + 1 });
    },
  };
}

describe('projection leases', () => {
  let events: SqliteEventStore;
  let documents: SqliteDocumentStore;
  let runners: Projector[];
  let appliedBy: string[];

  const append = (n: number) =>
    Promise.all(Array.from({ length: n }, () => events.append([{ stream: `wallet-${randomUUID()}`, expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'Charged', data: {} }] }])));
  const count = async () => (await documents.get<{ id: string; count: number }>('charges', 'all'))?.count ?? 0;
  const runner = async (name: string, service: LeaseService) => {
    const projector = new Projector(events, documents, [counter(name, appliedBy)], logger, { pollMs: 20, lease: { service, ttlMs: TTL_MS, owner: name } });
    await projector.init();
    runners.push(projector);
    return projector;
  };

  beforeEach(() => {
    events = new SqliteEventStore(':memory:');
    documents = new SqliteDocumentStore(':memory:');
    runners = [];
    appliedBy = [];
  });
  afterEach(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await events.close();
    await documents.close();
  });

  it('runs each projection in one runner only, and hands it over at once on a clean stop', async () => {
    const leases = new InProcessLeaseService();
    const [a, b] = [await runner('a', leases), await runner('b', leases)];
    a.start();
    b.start();
    await append(50);
    await until(async () => (await count()) === 50, 'the first 50');
    const [leader] = appliedBy;
    expect(new Set(appliedBy)).toEqual(new Set([leader]));

    const started = Date.now();
    await (leader === 'a' ? a : b).stop();
    await append(50);
    await until(async () => (await count()) === 100, 'the next 50');
    // Released, not lapsed: the follower's next attempt (every third of the TTL) takes it.
    expect(Date.now() - started).toBeLessThan(TTL_MS);
    expect(new Set(appliedBy.slice(50))).toEqual(new Set([leader === 'a' ? 'b' : 'a']));
  });

  it('stops writing once its lease is lost, and another runner takes over after the TTL', async () => {
    const leases = new InProcessLeaseService();
    const a = await runner('a', leases);
    a.start();
    await append(10);
    await until(async () => (await count()) === 10, 'a to apply');
    // a can no longer renew nor retake its lease, as if its process stalled past the TTL.
    const renew = leases.renew.bind(leases);
    const acquire = leases.acquire.bind(leases);
    jest.spyOn(leases, 'renew').mockImplementation(async (name, owner, ttl) => owner !== 'a' && renew(name, owner, ttl));
    jest.spyOn(leases, 'acquire').mockImplementation(async (name, owner, ttl) => (owner === 'a' ? null : acquire(name, owner, ttl)));
    const b = await runner('b', leases);
    b.start();
    await until(async () => {
      await append(1);
      return appliedBy.at(-1) === 'b';
    }, 'b to take over');
    const handedOver = appliedBy.lastIndexOf('a');
    expect(appliedBy.slice(handedOver + 1).every((r) => r === 'b')).toBe(true);
    await until(async () => (await count()) === (await events.readAll(null, 10_000)).length, 'b to catch up');
  });

  it('keeps running, unfenced, while the lease backend cannot be reached', async () => {
    const leases = new InProcessLeaseService();
    jest.spyOn(leases, 'acquire').mockRejectedValue(new Error('connection is closed'));
    const [a, b] = [await runner('a', leases), await runner('b', leases)];
    a.start();
    b.start();
    await append(200);
    // Both may apply; the checkpoint's compare-and-set still counts every event once.
    await until(async () => (await count()) === 200, 'all 200');
    expect(await count()).toBe(200);
  });
});

describe('a restarted instance and its leases', () => {
  let events: SqliteEventStore;
  let documents: SqliteDocumentStore;
  const runners: Projector[] = [];
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await events.close();
    await documents.close();
  });

  it('takes its own lease back at start instead of waiting it out, and fences its earlier life out of the store', async () => {
    events = new SqliteEventStore(':memory:');
    documents = new SqliteDocumentStore(':memory:');
    const appliedBy: string[] = [];
    /** Which life stored each batch: a write the store refused is not counted. */
    const committedBy: string[] = [];
    const life = async (name: string) => {
      const own: DocumentStore = Object.create(documents, {
        write: { value: async (...args: Parameters<DocumentStore['write']>) => (await documents.write(...args), committedBy.push(name)) },
      });
      // A lease as long as a test: only a takeover can hand it on in time.
      const lease = { service: leases, ttlMs: 60_000, owner: `instance-1|${name}`, takeOverFrom: 'instance-1|' };
      const projector = new Projector(events, own, [counter(name, appliedBy)], logger, { pollMs: 20, lease });
      await projector.init();
      runners.push(projector);
      projector.start();
      return projector;
    };
    const leases = new InProcessLeaseService();
    const append = (n: number) =>
      Promise.all(Array.from({ length: n }, () => events.append([{ stream: `wallet-${randomUUID()}`, expectedRevision: 'no_stream', events: [{ id: randomUUID(), type: 'Charged', data: {} }] }])));
    const count = async () => (await documents.get<{ id: string; count: number }>('charges', 'all'))?.count ?? 0;

    await life('first');
    await append(20);
    await until(async () => (await count()) === 20, 'the first life to apply');
    // The first life is still running (a crash would only stop it renewing); its restart starts beside it.
    const startedAt = Date.now();
    await life('second');
    await until(async () => {
      await append(1);
      return committedBy.at(-1) === 'second';
    }, 'the restart to take over', 2_000);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    await append(30);
    await until(async () => (await count()) === (await events.readAll(null, 10_000)).length, 'the restart to apply everything');
    const handedOver = committedBy.indexOf('second');
    expect(committedBy.slice(handedOver)).not.toContain('first');
  });
});
