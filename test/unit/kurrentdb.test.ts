/**
 * The KurrentDB adapter without a server: a fake of the few client calls it makes, answering as
 * KurrentDB 25.1 does, including the mixed verdict (one stream Idempotent, another Ok) that the
 * real client can only surface as gRPC INTERNAL, i.e. UnavailableError.
 */
import { randomUUID } from 'node:crypto';
import { EventData, StreamNotFoundError, UnavailableError, WrongExpectedVersionError } from '@kurrent/kurrentdb-client';
import {
  decodeMetadata,
  encodeMetadata,
  formatKurrentPosition,
  KurrentClient,
  KurrentDbEventStore,
  parseKurrentPosition,
} from '../../src/shared/eventstore/kurrentdb';
import { ConcurrencyConflict, ExpectedRevision, InvalidAppend, JsonObject, NewEvent, StreamWrite } from '../../src/shared/eventstore/port';

interface FakeRecorded {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  data: unknown;
  metadata: unknown;
  position: { commit: bigint; prepare: bigint };
}

type Verdict = 'ok' | 'idempotent' | 'wrong';

class FakeKurrent {
  readonly streams = new Map<string, FakeRecorded[]>();
  readonly sent: string[] = [];
  /** Runs right before a write reaches the fake server: lets a test land a racing write. */
  beforeWrite: (() => void) | undefined;
  private next = 100n;

  async *readStream(stream: string, options: { direction?: string; fromRevision?: bigint | 'end'; maxCount?: number | bigint } = {}) {
    const events = this.streams.get(stream);
    if (!events) throw new StreamNotFoundError(undefined, stream);
    const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const chosen =
      options.direction === 'backwards'
        ? [...events].reverse().slice(0, max)
        : events.filter((e) => e.revision >= (options.fromRevision as bigint)).slice(0, max);
    for (const event of chosen) yield { event };
  }

  async appendToStream(stream: string, events: EventData[], options: { streamState: ExpectedRevision }) {
    this.sent.push('appendToStream');
    this.beforeWrite?.();
    const verdict = this.verdict(stream, options.streamState, events);
    if (verdict === 'wrong') throw this.wrong(stream, options.streamState);
    if (verdict === 'ok') this.write(stream, events, 'json');
    const last = this.streams.get(stream)!.at(-1)!;
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  async multiStreamAppend(requests: { streamName: string; expectedState: ExpectedRevision; events: EventData[] }[]) {
    this.sent.push('multiStreamAppend');
    this.beforeWrite?.();
    const verdicts = requests.map((r) => this.verdict(r.streamName, r.expectedState, r.events));
    const wrong = verdicts.indexOf('wrong');
    if (wrong !== -1) throw this.wrong(requests[wrong].streamName, requests[wrong].expectedState);
    // The server's WrongExpectedVersion without a stream: the client maps gRPC INTERNAL to this.
    if (verdicts.includes('idempotent') && verdicts.includes('ok')) throw new UnavailableError();
    if (verdicts.every((v) => v === 'ok')) {
      for (const r of requests) {
        for (const e of r.events) {
          const metadata = e.metadata as Record<string, unknown> | undefined;
          if (metadata && Object.values(metadata).some((v) => typeof v !== 'string')) throw new Error('multiStreamAppend requires string metadata values');
        }
        this.write(r.streamName, r.events, 'properties');
      }
    }
    return { position: this.next, responses: requests.map((r) => ({ streamName: r.streamName, revision: this.streams.get(r.streamName)!.at(-1)!.revision })) };
  }

  async dispose() {}

  /** Writes directly, as another instance (or our own earlier attempt) would have. */
  write(stream: string, events: readonly EventData[], path: 'json' | 'properties'): void {
    const existing = this.streams.get(stream) ?? [];
    this.streams.set(stream, existing);
    for (const e of events) {
      this.next += 10n;
      // Properties come back as metadata with the server's own schema keys added.
      const metadata = path === 'properties' ? { ...(e.metadata as object), '$schema.format': 'Json', '$schema.name': e.type } : e.metadata;
      existing.push({ streamId: stream, id: e.id, revision: BigInt(existing.length), type: e.type, data: e.data, metadata, position: { commit: this.next, prepare: this.next } });
    }
  }

  private verdict(stream: string, expected: ExpectedRevision, events: readonly EventData[]): Verdict {
    const existing = this.streams.get(stream) ?? [];
    const current = BigInt(existing.length) - 1n;
    if (expected === 'any') return 'ok';
    const from = expected === 'no_stream' ? 0n : expected + 1n;
    if (from === current + 1n) return 'ok';
    const slots = existing.slice(Number(from), Number(from) + events.length);
    return slots.length === events.length && slots.every((e, i) => e.id === events[i].id) ? 'idempotent' : 'wrong';
  }

  private wrong(stream: string, expected: ExpectedRevision) {
    const existing = this.streams.get(stream) ?? [];
    return new WrongExpectedVersionError(undefined, { streamName: stream, expected, current: existing.length === 0 ? 'no_stream' : BigInt(existing.length - 1) });
  }
}

const event = (type: string, metadata?: JsonObject): NewEvent => ({ id: randomUUID(), type, data: { type }, ...(metadata ? { metadata } : {}) });
const asData = (e: NewEvent): EventData => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata, contentType: 'application/json' }) as EventData;

describe('KurrentDB adapter without a server', () => {
  let fake: FakeKurrent;
  let store: KurrentDbEventStore;
  beforeEach(() => {
    fake = new FakeKurrent();
    store = new KurrentDbEventStore(fake as unknown as KurrentClient);
  });
  afterEach(() => store.close());

  it('refuses a re-decided retry (guard replayed, aggregate at its new revision) with a conflict on the guard, sending nothing', async () => {
    const guard = event('RequestHandled');
    await store.append([
      { stream: 'wallet-u', expectedRevision: 'no_stream', events: [event('PointsCharged')] },
      { stream: 'request-k', expectedRevision: 'no_stream', events: [guard] },
    ]);
    await store.append([{ stream: 'wallet-u', expectedRevision: 0n, events: [event('PointsCharged')] }]);
    fake.sent.length = 0;
    await expect(
      store.append([
        { stream: 'wallet-u', expectedRevision: 1n, events: [event('PointsCharged')] },
        { stream: 'request-k', expectedRevision: 'no_stream', events: [guard] },
      ]),
    ).rejects.toEqual(new ConcurrencyConflict('request-k', 'no_stream', 0n));
    expect(fake.sent).toEqual([]);
    expect(fake.streams.get('wallet-u')).toHaveLength(2);
  });

  it('answers a full replay from the log, single- or multi-stream, without sending it', async () => {
    const single: StreamWrite[] = [{ stream: 'a', expectedRevision: 'no_stream', events: [event('A1'), event('A2')] }];
    const multi: StreamWrite[] = [
      { stream: 'b', expectedRevision: 'no_stream', events: [event('B1')] },
      { stream: 'c', expectedRevision: 'no_stream', events: [event('C1'), event('C2')] },
    ];
    const firstSingle = await store.append(single);
    const firstMulti = await store.append(multi);
    fake.sent.length = 0;
    expect(await store.append(single)).toEqual({ ...firstSingle, duplicate: true });
    expect(await store.append(multi)).toEqual({ ...firstMulti, duplicate: true });
    expect(fake.sent).toEqual([]);
  });

  it('refuses a partial replay within one stream with the stream\'s current revision', async () => {
    const kept = event('A');
    await store.append([{ stream: 'a', expectedRevision: 'no_stream', events: [kept, event('B'), event('C')] }]);
    fake.sent.length = 0;
    await expect(store.append([{ stream: 'a', expectedRevision: 'no_stream', events: [kept, event('X')] }])).rejects.toEqual(
      new ConcurrencyConflict('a', 'no_stream', 2n),
    );
    expect(fake.sent).toEqual([]);
  });

  it('replays an append that expected any while its events are the stream\'s last', async () => {
    const events = [event('J1'), event('J2')];
    await store.append([{ stream: 'admin-1', expectedRevision: 'any', events: [event('J0')] }]);
    const first = await store.append([{ stream: 'admin-1', expectedRevision: 'any', events }]);
    expect(await store.append([{ stream: 'admin-1', expectedRevision: 'any', events }])).toEqual({ ...first, duplicate: true });
    expect(fake.streams.get('admin-1')).toHaveLength(3);
  });

  it('judges again when the server fails an append its own first attempt has just landed', async () => {
    const guard = event('RequestHandled');
    const aggregate = event('OrderPlaced');
    const writes: StreamWrite[] = [
      { stream: 'order-1', expectedRevision: 'no_stream', events: [aggregate] },
      { stream: 'request-r', expectedRevision: 'no_stream', events: [guard] },
    ];
    // The first attempt lands between our look at the slots and our send, on the guard only
    // as far as the server's verdict goes: it is a mixed one.
    fake.beforeWrite = () => {
      fake.beforeWrite = undefined;
      fake.write('request-r', [asData(guard)], 'properties');
    };
    await expect(store.append(writes)).rejects.toEqual(new ConcurrencyConflict('request-r', 'no_stream', 0n));
    // When all of it landed in between, the server answers success: written once, reported as
    // fresh (the limitation the adapter's comment names), with the original's revisions.
    const again: StreamWrite[] = [{ stream: 'order-2', expectedRevision: 'no_stream', events: [event('OrderPlaced')] }, { stream: 'request-s', expectedRevision: 'no_stream', events: [event('RequestHandled')] }];
    fake.beforeWrite = () => {
      fake.beforeWrite = undefined;
      for (const w of again) fake.write(w.stream, w.events.map(asData), 'properties');
    };
    const answer = await store.append(again);
    expect(answer.revisions).toEqual(new Map([['order-2', 0n], ['request-s', 0n]]));
    expect(answer.position).toBe(formatKurrentPosition(fake.streams.get('request-s')![0].position));
    expect(fake.streams.get('order-2')).toHaveLength(1);
  });

  it('passes on an error it cannot explain by a replay', async () => {
    fake.beforeWrite = () => {
      throw new UnavailableError();
    };
    await expect(store.append([{ stream: 'x', expectedRevision: 'no_stream', events: [event('X')] }])).rejects.toBeInstanceOf(UnavailableError);
  });

  it('gives a multi-stream append the position of its last event, and a conflict the stream the server named', async () => {
    const result = await store.append([
      { stream: 'p', expectedRevision: 'no_stream', events: [event('P1'), event('P2')] },
      { stream: 'q', expectedRevision: 'no_stream', events: [event('Q1')] },
    ]);
    const last = [...fake.streams.values()].flat().map((e) => formatKurrentPosition(e.position)).sort().at(-1);
    expect(result.position).toBe(last);
    await expect(
      store.append([
        { stream: 'r', expectedRevision: 'no_stream', events: [event('R')] },
        { stream: 'q', expectedRevision: 'no_stream', events: [event('Q2')] },
      ]),
    ).rejects.toEqual(new ConcurrencyConflict('q', 'no_stream', 0n));
  });

  it('refuses invalid appends before calling the server', async () => {
    await expect(store.append([{ stream: 's', expectedRevision: 'any', events: [event('bad type')] }])).rejects.toBeInstanceOf(InvalidAppend);
    await expect(
      store.append([
        { stream: 'Order-1', expectedRevision: 'any', events: [event('A')] },
        { stream: 'order-1', expectedRevision: 'any', events: [event('B')] },
      ]),
    ).rejects.toBeInstanceOf(InvalidAppend);
    expect(fake.sent).toEqual([]);
  });

  it('reads back the metadata it wrote on either path', async () => {
    const shapes: JsonObject[] = [{ actorId: 'u' }, { n: 1, deep: { a: [1] } }, { '$schema.x': 'mine', $id: 'i' }, { 'eventmart.metadata': '{"a":1}' }];
    const single = shapes.map((m) => event('S', m));
    const multi = shapes.map((m) => event('M', m));
    await store.append([{ stream: 'single', expectedRevision: 'no_stream', events: single }]);
    await store.append([
      { stream: 'multi', expectedRevision: 'no_stream', events: multi },
      { stream: 'other', expectedRevision: 'no_stream', events: [event('O')] },
    ]);
    expect((await store.readStream('single')).map((e) => e.metadata)).toEqual(shapes);
    expect((await store.readStream('multi')).map((e) => e.metadata)).toEqual(shapes);
  });
});

describe('KurrentDB metadata mapping', () => {
  it('writes metadata as it is only where it reads back unchanged', () => {
    expect(encodeMetadata({ actorId: 'u', role: 'r' }, 'properties')).toEqual({ actorId: 'u', role: 'r' });
    expect(encodeMetadata({ n: 1 }, 'json')).toEqual({ n: 1 });
    expect(encodeMetadata({ n: 1 }, 'properties')).toEqual({ 'eventmart.metadata': '{"n":1}' });
    expect(encodeMetadata({ '$schema.name': 'x' }, 'json')).toEqual({ 'eventmart.metadata': '{"$schema.name":"x"}' });
    expect(encodeMetadata({ 'eventmart.metadata': 'x' }, 'json')).toEqual({ 'eventmart.metadata': '{"eventmart.metadata":"x"}' });
    expect(encodeMetadata({}, 'json')).toBeUndefined();
    expect(encodeMetadata(undefined, 'properties')).toBeUndefined();
  });

  it('drops the server\'s schema keys and unwraps what was wrapped', () => {
    expect(decodeMetadata({ actorId: 'u', '$schema.format': 'Json', '$schema.name': 'T' })).toEqual({ actorId: 'u' });
    expect(decodeMetadata({ 'eventmart.metadata': '{"$schema.x":"y"}', '$schema.format': 'Json' })).toEqual({ '$schema.x': 'y' });
    expect(decodeMetadata(undefined)).toEqual({});
    expect(decodeMetadata(new Uint8Array([1]))).toEqual({});
    expect(decodeMetadata(['a'])).toEqual({});
  });
});

describe('KurrentDB positions', () => {
  it('round-trips and sorts as (commit, prepare) pairs do', () => {
    const pairs = [
      { commit: 0n, prepare: 0n },
      { commit: 9n, prepare: 9n },
      { commit: 10n, prepare: 2n },
      { commit: 10n, prepare: 10n },
      { commit: 18446744073709551615n, prepare: 18446744073709551615n },
    ];
    const formatted = pairs.map(formatKurrentPosition);
    expect(formatted.map(parseKurrentPosition)).toEqual(pairs);
    expect([...formatted].reverse().sort()).toEqual(formatted);
    expect(formatted[2]).toBe('00000000000000000010/00000000000000000002');
  });

  it('refuses anything that is not one of its own positions', () => {
    for (const bad of ['', '10/2', '00000000000000000010', '00000000000000000010/0000000000000000000x', ' 00000000000000000010/00000000000000000002']) {
      expect(() => parseKurrentPosition(bad)).toThrow(RangeError);
    }
  });
});
