/**
 * The event store port's contract: every adapter must pass it unchanged.
 * `makeStore` must hand out a store over an empty log (or one whose streams the suite names
 * uniquely: stream names here carry a random suffix so a shared server can be reused).
 */
import { randomUUID } from 'node:crypto';
import { ConcurrencyConflict, EventStore, InvalidAppend, JsonObject, NewEvent, StreamWrite } from '../../src/shared/eventstore/port';
import { until } from '../support/eventually';

const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({ id: randomUUID(), type, data });

export function eventStoreContract(makeStore: () => Promise<EventStore>): void {
  let store: EventStore;
  let suffix: string;
  const s = (name: string) => `${name}-${suffix}`;

  beforeEach(async () => {
    store = await makeStore();
    suffix = randomUUID().replace(/-/g, '');
  });
  afterEach(async () => store.close());

  it('appends to a new stream and reads it back in order with revisions from 0', async () => {
    const result = await store.append([
      { stream: s('a'), expectedRevision: 'no_stream', events: [event('One', { n: 1 }), event('Two', { n: 2 })] },
    ]);
    expect(result.revisions.get(s('a'))).toBe(1n);
    expect(result.duplicate).toBe(false);
    const read = await store.readStream(s('a'));
    expect(read.map((e) => [e.type, e.data, e.revision, e.stream])).toEqual([
      ['One', { n: 1 }, 0n, s('a')],
      ['Two', { n: 2 }, 1n, s('a')],
    ]);
    expect(read[1].position).toBe(result.position);
    expect(read[0].position < read[1].position).toBe(true);
  });

  it('keeps metadata and reads from a revision', async () => {
    await store.append([
      {
        stream: s('m'),
        expectedRevision: 'no_stream',
        events: [{ ...event('A'), metadata: { userId: 'u1' } }, event('B'), event('C')],
      },
    ]);
    const tail = await store.readStream(s('m'), 1n);
    expect(tail.map((e) => e.type)).toEqual(['B', 'C']);
    const head = await store.readStream(s('m'));
    expect(head[0].metadata).toEqual({ userId: 'u1' });
  });

  it('reads at most `limit` events of a stream from a revision', async () => {
    await store.append([{ stream: s('l'), expectedRevision: 'no_stream', events: ['A', 'B', 'C', 'D'].map((type) => event(type)) }]);
    const types = (events: { type: string }[]) => events.map((e) => e.type);
    expect(types(await store.readStream(s('l'), 0n, 2))).toEqual(['A', 'B']);
    expect(types(await store.readStream(s('l'), 2n, 10))).toEqual(['C', 'D']);
    expect(types(await store.readStream(s('l'), 1n))).toEqual(['B', 'C', 'D']);
    expect(await store.readStream(s('l'), 0n, 0)).toEqual([]);
    expect(await store.readStream(s('nothing'), 0n, 5)).toEqual([]);
    // A full page says nothing of the stream's end: what follows it is still read.
    expect(types(await store.readStream(s('l'), 2n))).toEqual(['C', 'D']);
  });

  it('reads a stream backwards a page at a time, newest first, from its end or below a revision', async () => {
    await store.append([{ stream: s('h'), expectedRevision: 'no_stream', events: ['A', 'B', 'C', 'D', 'E'].map((type) => event(type)) }]);
    await store.append([{ stream: s('other'), expectedRevision: 'no_stream', events: [event('X')] }]);
    const types = (events: { type: string }[]) => events.map((e) => e.type);
    const first = await store.readStreamBackward(s('h'), null, 2);
    expect(types(first)).toEqual(['E', 'D']);
    expect(first.map((e) => e.revision)).toEqual([4n, 3n]);
    expect(first[0].stream).toBe(s('h'));
    expect(types(await store.readStreamBackward(s('h'), first[1].revision, 2))).toEqual(['C', 'B']);
    expect(types(await store.readStreamBackward(s('h'), 1n, 10))).toEqual(['A']);
    expect(await store.readStreamBackward(s('h'), 0n, 10)).toEqual([]);
    expect(types(await store.readStreamBackward(s('h'), 99n, 10))).toEqual(['E', 'D', 'C', 'B', 'A']);
    expect(await store.readStreamBackward(s('h'), null, 0)).toEqual([]);
    expect(await store.readStreamBackward(s('nothing'), null, 10)).toEqual([]);
  });

  it('reads an unknown stream as empty', async () => {
    expect(await store.readStream(s('nothing'))).toEqual([]);
  });

  it('refuses no_stream when the stream exists', async () => {
    await store.append([{ stream: s('x'), expectedRevision: 'no_stream', events: [event('A')] }]);
    await expect(
      store.append([{ stream: s('x'), expectedRevision: 'no_stream', events: [event('B')] }]),
    ).rejects.toBeInstanceOf(ConcurrencyConflict);
    expect(await store.readStream(s('x'))).toHaveLength(1);
  });

  it('refuses an exact revision that is stale or ahead, accepts the right one', async () => {
    await store.append([{ stream: s('x'), expectedRevision: 'no_stream', events: [event('A'), event('B')] }]);
    await expect(store.append([{ stream: s('x'), expectedRevision: 0n, events: [event('C')] }])).rejects.toMatchObject({
      name: 'ConcurrencyConflict',
      stream: s('x'),
    });
    await expect(store.append([{ stream: s('x'), expectedRevision: 5n, events: [event('C')] }])).rejects.toBeInstanceOf(
      ConcurrencyConflict,
    );
    await expect(
      store.append([{ stream: s('never'), expectedRevision: 0n, events: [event('C')] }]),
    ).rejects.toBeInstanceOf(ConcurrencyConflict);
    const ok = await store.append([{ stream: s('x'), expectedRevision: 1n, events: [event('C')] }]);
    expect(ok.revisions.get(s('x'))).toBe(2n);
  });

  it('accepts any revision whether or not the stream exists', async () => {
    await store.append([{ stream: s('y'), expectedRevision: 'any', events: [event('A')] }]);
    await store.append([{ stream: s('y'), expectedRevision: 'any', events: [event('B')] }]);
    expect((await store.readStream(s('y'))).map((e) => e.revision)).toEqual([0n, 1n]);
  });

  it('writes several streams atomically', async () => {
    const result = await store.append([
      { stream: s('p'), expectedRevision: 'no_stream', events: [event('P1')] },
      { stream: s('q'), expectedRevision: 'no_stream', events: [event('Q1'), event('Q2')] },
    ]);
    expect(result.revisions.get(s('p'))).toBe(0n);
    expect(result.revisions.get(s('q'))).toBe(1n);
    expect(await store.readStream(s('p'))).toHaveLength(1);
    expect(await store.readStream(s('q'))).toHaveLength(2);
  });

  it('writes nothing on any stream when one stream conflicts', async () => {
    await store.append([{ stream: s('held'), expectedRevision: 'no_stream', events: [event('H')] }]);
    await expect(
      store.append([
        { stream: s('free'), expectedRevision: 'no_stream', events: [event('F')] },
        { stream: s('held'), expectedRevision: 'no_stream', events: [event('H2')] },
      ]),
    ).rejects.toMatchObject({ name: 'ConcurrencyConflict', stream: s('held') });
    expect(await store.readStream(s('free'))).toEqual([]);
    expect(await store.readStream(s('held'))).toHaveLength(1);
  });

  it('lets exactly one of many racing appends at one revision through', async () => {
    await store.append([{ stream: s('race'), expectedRevision: 'no_stream', events: [event('Start')] }]);
    const attempts = await Promise.allSettled(
      Array.from({ length: 20 }, () => store.append([{ stream: s('race'), expectedRevision: 0n, events: [event('Go')] }])),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    expect(attempts.filter((a) => a.status === 'rejected' && a.reason instanceof ConcurrencyConflict)).toHaveLength(19);
    expect(await store.readStream(s('race'))).toHaveLength(2);
  });

  it('orders the global log and reads it from a position', async () => {
    const before = await store.headPosition();
    const first = await store.append([{ stream: s('g1'), expectedRevision: 'any', events: [event('G1')] }]);
    await store.append([{ stream: s('g2'), expectedRevision: 'any', events: [event('G2'), event('G3')] }]);
    const ours = (await readAllFrom(store, before)).filter((e) => e.stream.endsWith(suffix));
    expect(ours.map((e) => e.type)).toEqual(['G1', 'G2', 'G3']);
    const positions = ours.map((e) => e.position);
    expect([...positions].sort()).toEqual(positions);
    const afterFirst = (await readAllFrom(store, first.position)).filter((e) => e.stream.endsWith(suffix));
    expect(afterFirst.map((e) => e.type)).toEqual(['G2', 'G3']);
    expect(await store.headPosition()).toBe(positions[2]);
  });

  it('counts the events after a position up to a limit, past an append that failed', async () => {
    const before = await store.headPosition();
    await store.append([{ stream: s('c1'), expectedRevision: 'no_stream', events: [event('C'), event('C')] }]);
    // Its first write may be inserted, and its positions drawn, before the second one conflicts.
    await expect(
      store.append([
        { stream: s('c2'), expectedRevision: 'no_stream', events: [event('X'), event('X')] },
        { stream: s('c1'), expectedRevision: 'no_stream', events: [event('X')] },
      ]),
    ).rejects.toBeInstanceOf(ConcurrencyConflict);
    const third = await store.append([{ stream: s('c3'), expectedRevision: 'no_stream', events: [event('C')] }]);
    await store.append([{ stream: s('c4'), expectedRevision: 'no_stream', events: [event('C'), event('C'), event('C')] }]);
    const head = await store.headPosition();
    // A shared server's log may hold other suites' events before ours, never after.
    expect(await store.countAfter(before, 1_000)).toBe(6);
    expect(await store.countAfter(third.position, 1_000)).toBe(3);
    expect(await store.countAfter(head, 1_000)).toBe(0);
    expect(await store.countAfter(before, 4)).toBe(4);
    expect(await store.countAfter(null, 1_000_000)).toBeGreaterThanOrEqual(6);
  });

  it('pages through the global log with a limit', async () => {
    const before = await store.headPosition();
    await store.append([
      { stream: s('page'), expectedRevision: 'any', events: Array.from({ length: 5 }, (_, i) => event('E', { i })) },
    ]);
    const firstPage = await store.readAll(before, 2);
    expect(firstPage).toHaveLength(2);
    const secondPage = await store.readAll(firstPage[1].position, 2);
    expect(secondPage[0].position > firstPage[1].position).toBe(true);
  });

  it('does not write an event id twice and replays the original result', async () => {
    const events = [event('Once'), event('Twice')];
    const first = await store.append([{ stream: s('idem'), expectedRevision: 'no_stream', events }]);
    const again = await store.append([{ stream: s('idem'), expectedRevision: 'no_stream', events }]);
    expect(again.duplicate).toBe(true);
    expect(again.position).toBe(first.position);
    expect(await store.readStream(s('idem'))).toHaveLength(2);
  });

  it('replays a multi-stream append whole, with the original position and revisions', async () => {
    const writes: StreamWrite[] = [
      { stream: s('r1'), expectedRevision: 'no_stream', events: [event('R1')] },
      { stream: s('r2'), expectedRevision: 'no_stream', events: [event('R2'), event('R3')] },
    ];
    const first = await store.append(writes);
    const again = await store.append(writes);
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await store.readStream(s('r2'))).toHaveLength(2);
  });

  it('replays an append that expected any while its events are still the stream\'s last', async () => {
    const events = [event('A1'), event('A2')];
    await store.append([{ stream: s('tail'), expectedRevision: 'any', events: [event('Before')] }]);
    const first = await store.append([{ stream: s('tail'), expectedRevision: 'any', events }]);
    const again = await store.append([{ stream: s('tail'), expectedRevision: 'any', events }]);
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await store.readStream(s('tail'))).toHaveLength(3);
  });

  it('answers a partial replay with a conflict on the first write holding a present event, writing nothing', async () => {
    // A retried request that re-decided against newer state: the aggregate at its new revision,
    // the request's guard stream with the same event as the first attempt.
    const guard = event('RequestHandled');
    await store.append([
      { stream: s('agg'), expectedRevision: 'no_stream', events: [event('Decided')] },
      { stream: s('guard'), expectedRevision: 'no_stream', events: [guard] },
    ]);
    await store.append([{ stream: s('agg'), expectedRevision: 0n, events: [event('Other')] }]);
    await expect(
      store.append([
        { stream: s('agg'), expectedRevision: 1n, events: [event('DecidedAgain')] },
        { stream: s('guard'), expectedRevision: 'no_stream', events: [guard] },
      ]),
    ).rejects.toMatchObject({ name: 'ConcurrencyConflict', stream: s('guard'), expected: 'no_stream', actual: 0n });
    expect(await store.readStream(s('agg'))).toHaveLength(2);

    // Within one stream: the first event is where the retry expects it, the second is new.
    const [a, b] = [event('A'), event('B')];
    await store.append([{ stream: s('one'), expectedRevision: 'no_stream', events: [a, b] }]);
    await expect(
      store.append([{ stream: s('one'), expectedRevision: 'no_stream', events: [a, event('C')] }]),
    ).rejects.toMatchObject({ name: 'ConcurrencyConflict', stream: s('one'), actual: 1n });
    expect((await store.readStream(s('one'))).map((e) => e.type)).toEqual(['A', 'B']);
  });

  it('names the stream already present when a multi-stream append conflicts on it', async () => {
    await store.append([{ stream: s('present'), expectedRevision: 'no_stream', events: [event('P1'), event('P2')] }]);
    await store.append([{ stream: s('stale'), expectedRevision: 'no_stream', events: [event('S1'), event('S2')] }]);
    await expect(
      store.append([
        { stream: s('new1'), expectedRevision: 'no_stream', events: [event('N')] },
        { stream: s('present'), expectedRevision: 'no_stream', events: [event('P3')] },
        { stream: s('new2'), expectedRevision: 'no_stream', events: [event('N')] },
      ]),
    ).rejects.toMatchObject({ name: 'ConcurrencyConflict', stream: s('present'), expected: 'no_stream', actual: 1n });
    await expect(
      store.append([
        { stream: s('new1'), expectedRevision: 'no_stream', events: [event('N')] },
        { stream: s('stale'), expectedRevision: 0n, events: [event('S3')] },
      ]),
    ).rejects.toMatchObject({ name: 'ConcurrencyConflict', stream: s('stale'), expected: 0n, actual: 1n });
    expect(await store.readStream(s('new1'))).toEqual([]);
    expect(await store.readStream(s('new2'))).toEqual([]);
  });

  it('gives a multi-stream append the position of its last event', async () => {
    await store.append([{ stream: s('before'), expectedRevision: 'no_stream', events: [event('B')] }]);
    const result = await store.append([
      { stream: s('m1'), expectedRevision: 'no_stream', events: [event('M1'), event('M2')] },
      { stream: s('m2'), expectedRevision: 'no_stream', events: [event('M3')] },
      { stream: s('m3'), expectedRevision: 'no_stream', events: [event('M4'), event('M5')] },
    ]);
    const written = [...(await store.readStream(s('m1'))), ...(await store.readStream(s('m2'))), ...(await store.readStream(s('m3')))];
    const positions = written.map((e) => e.position).sort();
    expect(result.position).toBe(positions[positions.length - 1]);
    expect(await store.headPosition()).toBe(result.position);
    const fromLog = (await readAllFrom(store, null)).filter((e) => e.stream.endsWith(suffix)).map((e) => e.position);
    expect(fromLog.slice(-5)).toEqual(positions);
  });

  it('reads back every shape of metadata the same through the single- and the multi-stream path', async () => {
    const shapes: JsonObject[] = [
      { actorId: 'u1', role: 'customer' },
      { count: 3, nested: { deep: [1, 'two'] }, flag: true, none: null },
      { $correlationId: 'c1', '$schema.format': 'mine', '$schema.x': 'y' },
      { 'eventmart.metadata': '{"a":1}' },
      { 'eventmart.metadata': 'not json at all' },
      {},
    ];
    const withMetadata = () => shapes.map((metadata, i) => ({ ...event(`Meta${i}`), metadata }));
    await store.append([{ stream: s('single'), expectedRevision: 'no_stream', events: withMetadata() }]);
    await store.append([
      { stream: s('multi'), expectedRevision: 'no_stream', events: withMetadata() },
      { stream: s('other'), expectedRevision: 'no_stream', events: [event('O')] },
    ]);
    expect((await store.readStream(s('single'))).map((e) => e.metadata)).toEqual(shapes);
    expect((await store.readStream(s('multi'))).map((e) => e.metadata)).toEqual(shapes);
  });

  it('refuses the same stream twice in one append, compared case-insensitively, before writing anything', async () => {
    await store.append([{ stream: s('twice'), expectedRevision: 'no_stream', events: [event('T')] }]);
    for (const second of [s('twice'), s('TWICE')]) {
      await expect(
        store.append([
          { stream: s('fresh'), expectedRevision: 'no_stream', events: [event('F')] },
          { stream: s('twice'), expectedRevision: 0n, events: [event('T2')] },
          { stream: second, expectedRevision: 'any', events: [event('T3')] },
        ]),
      ).rejects.toBeInstanceOf(InvalidAppend);
    }
    expect(await store.readStream(s('fresh'))).toEqual([]);
    expect(await store.readStream(s('twice'))).toHaveLength(1);
  });

  it('refuses event types outside [a-zA-Z0-9_.$:-], and empty appends, on either path', async () => {
    for (const type of ['Has Space', 'Ünicode', '', 'slash/type', 'semi;colon']) {
      await expect(store.append([{ stream: s('types'), expectedRevision: 'any', events: [event(type)] }])).rejects.toBeInstanceOf(InvalidAppend);
      await expect(
        store.append([
          { stream: s('types'), expectedRevision: 'any', events: [event('Fine')] },
          { stream: s('types2'), expectedRevision: 'any', events: [event(type)] },
        ]),
      ).rejects.toBeInstanceOf(InvalidAppend);
    }
    await expect(store.append([])).rejects.toBeInstanceOf(InvalidAppend);
    await expect(store.append([{ stream: s('types'), expectedRevision: 'any', events: [] }])).rejects.toBeInstanceOf(InvalidAppend);
    expect(await store.readStream(s('types'))).toEqual([]);
    const ok = await store.append([{ stream: s('types'), expectedRevision: 'no_stream', events: [event('a-Z_0.9:$x')] }]);
    expect(ok.revisions.get(s('types'))).toBe(0n);
  });

  it('tells listeners about its own appends', async () => {
    let calls = 0;
    const stop = store.onAppended(() => {
      calls += 1;
    });
    await store.append([{ stream: s('w'), expectedRevision: 'any', events: [event('W')] }]);
    await until(() => calls > 0, 'the listener to be called', 5_000, 0);
    stop();
    expect(calls).toBeGreaterThan(0);
  });
}

async function readAllFrom(store: EventStore, after: string | null) {
  const out = [];
  let cursor = after;
  for (;;) {
    const page = await store.readAll(cursor, 500);
    if (page.length === 0) return out;
    out.push(...page);
    cursor = page[page.length - 1].position;
  }
}
