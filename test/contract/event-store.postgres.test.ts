import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../src/shared/eventstore/postgres';
import { DatabaseUnavailable, Postgres } from '../../src/shared/postgres';
import { until } from '../support/eventually';
import { describePostgres, TEST_POSTGRES_URL } from '../support/postgres';
import { eventStoreContract } from './event-store.contract';

describePostgres('PostgreSQL event store', (pg) => {
  eventStoreContract(() => PostgresEventStore.open(pg()));

  const event = (type: string) => ({ id: randomUUID(), type, data: {} });

  it('creates its schema once when several instances start at once', async () => {
    const others = Array.from({ length: 4 }, () => new Postgres({ url: TEST_POSTGRES_URL, schema: `${pg().schema}_race`, poolSize: 1 }));
    try {
      const stores = await Promise.all(others.map((other) => PostgresEventStore.open(other)));
      await stores[0].append([{ stream: 'race', expectedRevision: 'no_stream', events: [event('A')] }]);
      expect(await stores[3].readStream('race')).toHaveLength(1);
      await Promise.all(stores.map((store) => store.close()));
    } finally {
      await others[0].query(`DROP SCHEMA IF EXISTS "${others[0].schema}" CASCADE`);
      await Promise.all(others.map((other) => other.close()));
    }
  });

  it('wakes a follower in another process (another pool) with NOTIFY', async () => {
    const other = new Postgres({ url: TEST_POSTGRES_URL, schema: pg().schema, poolSize: 1 });
    const writer = await PostgresEventStore.open(pg());
    const follower = await PostgresEventStore.open(other);
    try {
      let woken = 0;
      follower.onAppended(() => (woken += 1));
      const before = woken;
      await writer.append([{ stream: `n-${randomUUID()}`, expectedRevision: 'no_stream', events: [event('N')] }]);
      await until(() => woken > before, 'the follower to be woken', 5_000);
    } finally {
      await writer.close();
      await follower.close();
      await other.close();
    }
  });

  it('survives its connections being cut: reads are retried, LISTEN comes back, appends go on', async () => {
    const own = new Postgres({ url: TEST_POSTGRES_URL, schema: pg().schema, poolSize: 2 });
    const follower = await PostgresEventStore.open(own);
    const writer = await PostgresEventStore.open(pg());
    try {
      const stream = `cut-${randomUUID()}`;
      await writer.append([{ stream, expectedRevision: 'no_stream', events: [event('Before')] }]);
      expect(await follower.readStream(stream)).toHaveLength(1);
      // Every connection of ours on this schema (the pools and the LISTEN one) but this one.
      const cut = await pg().query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND application_name LIKE 'eventmart%' AND query LIKE $1 AND pg_terminate_backend(pid)`,
        [`%${pg().schema}%`],
      );
      // At least the two pools and the LISTEN connection of the follower.
      expect(cut.length).toBeGreaterThanOrEqual(3);
      expect(await follower.readStream(stream)).toHaveLength(1);
      let woken = 0;
      follower.onAppended(() => (woken += 1));
      // The listener is back within about a second; until then followers only poll, so keep appending until one wakes it.
      let revision = 0n;
      await until(
        async () => {
          await writer.append([{ stream, expectedRevision: revision, events: [event('After')] }]).then(() => (revision += 1n), () => undefined);
          return woken > 0;
        },
        'the follower woken by an append after LISTEN came back',
        8_000,
        100,
      );
      expect((await follower.readStream(stream)).length).toBeGreaterThan(1);
    } finally {
      await follower.close();
      await writer.close();
      await own.close();
    }
  });

  it('answers followers asking for the same page in one turn with one query, and later ones with a new one', async () => {
    const store = await PostgresEventStore.open(pg());
    try {
      const stream = `shared-${randomUUID()}`;
      const before = await store.headPosition();
      await store.append([{ stream, expectedRevision: 'no_stream', events: [event('One')] }]);
      const queries = jest.spyOn(pg(), 'query');
      const pages = await Promise.all(Array.from({ length: 9 }, () => store.readAll(before, 100)));
      expect(queries.mock.calls.filter(([sql]) => sql.includes('position >'))).toHaveLength(1);
      for (const page of pages) expect(page.map((e) => e.stream)).toEqual([stream]);
      expect(Object.isFrozen(pages[0][0].data)).toBe(true);
      await store.append([{ stream, expectedRevision: 0n, events: [event('Two')] }]);
      expect((await store.readAll(before, 100)).map((e) => e.type)).toEqual(['One', 'Two']);
      expect(queries.mock.calls.filter(([sql]) => sql.includes('position >'))).toHaveLength(2);
      queries.mockRestore();
    } finally {
      await store.close();
    }
  });

  /** Makes append_batch fail as `fail` says on the calls it picks; the other calls run as they would. */
  const failingAppends = (fail: (call: number, run: () => Promise<unknown>) => Promise<unknown> | undefined) => {
    const real = Postgres.prototype.query;
    let calls = 0;
    const spy = jest.spyOn(pg(), 'query').mockImplementation(function (this: Postgres, sql: string, params?: readonly unknown[], retry?: boolean) {
      const run = () => real.call(this, sql, params, retry);
      if (!sql.includes('append_batch')) return run();
      calls += 1;
      return (fail(calls, run) ?? run()) as ReturnType<Postgres['query']>;
    });
    return { calls: () => calls, restore: () => spy.mockRestore() };
  };
  const lost = () => new DatabaseUnavailable(Object.assign(new Error('connect ENETUNREACH'), { code: 'ENETUNREACH' }), 'lost');

  it('fails a batch at once when the server stays unreachable, instead of trying its appends one by one', async () => {
    const store = await PostgresEventStore.open(pg());
    const appends = failingAppends(() => Promise.reject(lost()));
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () => store.append([{ stream: `cut-off-${randomUUID()}`, expectedRevision: 'no_stream', events: [event('CutOff')] }])),
      );
      expect(results.map((r) => r.status === 'rejected' && r.reason instanceof DatabaseUnavailable)).toEqual(results.map(() => true));
      // The batch and one resend: a partition must not hold an in-flight slot for a connect timeout per append.
      expect(appends.calls()).toBe(2);
    } finally {
      appends.restore();
      await store.close();
    }
  });

  it('resends a batch whose answer was lost, and answers each append with what it wrote the first time', async () => {
    const store = await PostgresEventStore.open(pg());
    // The first call commits, then its connection breaks before the answer comes back.
    const appends = failingAppends((call, run) => (call === 1 ? run().then(() => Promise.reject(lost())) : undefined));
    const stream = `lost-answer-${randomUUID()}`;
    try {
      const result = await store.append([{ stream, expectedRevision: 'no_stream', events: [event('Once')] }]);
      const stored = await store.readStream(stream);
      expect(stored.map((e) => e.type)).toEqual(['Once']);
      expect([result.position, result.revisions.get(stream)]).toEqual([stored[0].position, 0n]);
      expect(appends.calls()).toBe(2);
    } finally {
      appends.restore();
      await store.close();
    }
  });

  it('holds a second append back while an earlier one has its position but has not committed, so no follower can pass the gap', async () => {
    const store = await PostgresEventStore.open(pg());
    const before = await store.headPosition();
    const slow = await pg().pool.connect();
    try {
      // A writer (another instance, say) inside append_batch: its position taken, its commit not yet made.
      await slow.query('BEGIN');
      const held = randomUUID();
      await slow.query(`SELECT ${pg().table('append_batch')}($1::jsonb)`, [JSON.stringify([[{ s: `slow-${randomUUID()}`, x: 'no_stream', e: [{ i: held, t: 'Slow', d: '{}', m: '{}' }] }]])]);
      let answered = false;
      const fast = event('Fast');
      const second = store.append([{ stream: `fast-${randomUUID()}`, expectedRevision: 'no_stream', events: [fast] }]).finally(() => (answered = true));
      const waitsForTheLock = async () =>
        (await pg().query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE $1`, [`%${pg().schema}%append_batch%`])).length > 0;
      await until(async () => answered || (await waitsForTheLock()), 'the second append to commit or to wait for the first', 10_000);
      // What a follower reading after the head sees now: never the later position while the earlier one may still commit.
      expect((await store.readAll(before, 10)).map((e) => e.id)).toEqual([]);
      await slow.query('COMMIT');
      await second;
      expect((await store.readAll(before, 10)).map((e) => e.id)).toEqual([held, fast.id]);
    } finally {
      await slow.query('ROLLBACK').catch(() => undefined);
      slow.release();
      await store.close();
    }
  });

  it('looks an append\'s ids up through the id index, not by scanning the log, whatever the log\'s size', async () => {
    const store = await PostgresEventStore.open(pg());
    const client = await pg().pool.connect();
    try {
      // Ten thousand events: a log an index probe beats scanning, unless the planner takes the
      // ids for thousands (as it did, scanning every log below about 30,000 events).
      await client.query(
        `INSERT INTO ${pg().table('events')} (id, stream, revision, type, data, metadata)
         SELECT gen_random_uuid()::text, 'filler-' || g, 0, 'Filler', '{}', '{}' FROM generate_series(1, 10000) AS g`,
      );
      await client.query(`ANALYZE ${pg().table('events')}`);
      // auto_explain hands the plan of every statement inside append_batch back as a notice.
      const plans: string[] = [];
      client.on('notice', (notice) => plans.push(notice.message ?? ''));
      await client.query("LOAD 'auto_explain'");
      await client.query('SET auto_explain.log_min_duration = 0');
      await client.query('SET auto_explain.log_nested_statements = on');
      await client.query('SET auto_explain.log_level = notice');
      await client.query(`SELECT ${pg().table('append_batch')}($1::jsonb)`, [JSON.stringify([[{ s: `probe-${randomUUID()}`, x: 'no_stream', e: [{ i: randomUUID(), t: 'Probe', d: '{}', m: '{}' }] }]])]);
      const idCheck = plans.filter((plan) => /WHERE id (IN \(SELECT|= ANY)/.test(plan));
      expect(idCheck).toHaveLength(1);
      expect(idCheck[0]).not.toMatch(/Seq Scan on events/);
      expect(idCheck[0]).toMatch(/Index (Only )?Scan using events_id_key/);
    } finally {
      client.release();
      await store.close();
    }
  });

  it('gives a follower every event exactly once, in position order, while writers on several pools race', async () => {
    // Many writers on several pools (as several instances would be) race; a follower polling
    // "after P" must end up with every event exactly once, in position order.
    const pools = Array.from({ length: 3 }, () => new Postgres({ url: TEST_POSTGRES_URL, schema: pg().schema, poolSize: 4 }));
    const stores = await Promise.all(pools.map((p) => PostgresEventStore.open(p)));
    const start = await stores[0].headPosition();
    const seen: string[] = [];
    let cursor = start;
    let writing = true;
    const follow = (async () => {
      for (;;) {
        const page = await stores[0].readAll(cursor, 100);
        for (const e of page) seen.push(e.id);
        if (page.length > 0) cursor = page[page.length - 1].position;
        else if (!writing) return;
        else await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const written: string[] = [];
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const e = event('Raced');
        written.push(e.id);
        await stores[i % 3].append([{ stream: `race-${randomUUID()}`, expectedRevision: 'no_stream', events: [e] }]);
      }),
    );
    writing = false;
    await follow;
    const ours = seen.filter((id) => written.includes(id));
    expect(new Set(ours).size).toBe(ours.length);
    expect(ours.sort()).toEqual([...written].sort());
    await Promise.all(stores.map((store) => store.close()));
    await Promise.all(pools.map((p) => p.close()));
  });
});
