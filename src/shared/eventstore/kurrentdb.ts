import {
  AllStreamSubscription,
  BACKWARDS,
  convertToCommandError,
  END,
  EventData,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  KurrentDBClient,
  Position,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import {
  AppendResult,
  checkAppend,
  ConcurrencyConflict,
  EventStore,
  formatPosition,
  judgeReplay,
  JsonObject,
  NewEvent,
  slotsOf,
  StoredEvent,
  StreamWrite,
} from './port';

/** The client's methods this adapter uses: a test can hand in a fake (see test/unit/kurrentdb.test.ts). */
export type KurrentClient = Pick<KurrentDBClient, 'readStream' | 'readAll' | 'appendToStream' | 'multiStreamAppend' | 'subscribeToAll' | 'dispose'>;

/** The fields we use of the client's recorded event (stream and $all reads share them). */
interface Recorded {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly position?: Position;
}

/**
 * multiStreamAppend only carries metadata as string-valued properties, and the server adds its
 * own `$schema.*` keys to what it reads back. Metadata that does not fit (numbers, nested
 * objects; on either path any `$` key or this key itself) travels as one JSON string under this
 * key and is unwrapped on read, so both append paths read back exactly what was written.
 */
const WRAPPED_METADATA = 'eventmart.metadata';
/** Keys the server adds when it turns multi-stream-append properties back into metadata. */
const SERVER_METADATA_PREFIX = '$schema.';
const RESUBSCRIBE_AFTER_MS = 1_000;
/** Events per read when counting: one page in memory at a time, however far the count goes. */
const COUNT_PAGE = 1_000;

const POSITION_PATTERN = /^(\d{20})\/(\d{20})$/;

/** KurrentDB positions are (commit, prepare); both zero-padded so the pair sorts as a string. */
export const formatKurrentPosition = (position: Position): string =>
  `${formatPosition(position.commit)}/${formatPosition(position.prepare)}`;

export function parseKurrentPosition(position: string): Position {
  const match = POSITION_PATTERN.exec(position);
  if (!match) throw new RangeError(`not a KurrentDB log position: ${JSON.stringify(position)}`);
  return { commit: BigInt(match[1]), prepare: BigInt(match[2]) };
}

const isSystemType = (type: string) => type.startsWith('$');
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/**
 * The production event store (docs/ARCHITECTURE.md, ports and adapters) over KurrentDB >= 25.1.
 *
 * Duplicates (the port's rule): KurrentDB answers a replayed append with success and writes
 * nothing, but the reply looks exactly like a fresh write; and when one stream of a
 * multi-stream append is a replay and another is not, it answers WrongExpectedVersion without a
 * stream, which the client cannot map (gRPC INTERNAL). So before sending we read every write's
 * slots (one short read per write, in parallel) and answer a replay or refuse a partial one
 * ourselves. A replay racing its own first attempt can still meet the server's verdict; an
 * append that fails with anything but a conflict is therefore judged once more before the
 * error is passed on. A single-stream replay that wins that race is reported duplicate: false.
 */
export class KurrentDbEventStore implements EventStore {
  readonly adapterName = 'kurrentdb';
  private readonly listeners = new Set<() => void>();
  private subscription: AllStreamSubscription | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;
  private notifyScheduled = false;
  private closed = false;

  private readonly client: KurrentClient;

  constructor(connection: string | KurrentClient) {
    // The client still accepts esdb:// but warns on every start; it is the same protocol.
    this.client =
      typeof connection === 'string'
        ? KurrentDBClient.connectionString(connection.replace(/^esdb(\+discover)?:\/\//, 'kurrentdb$1://'))
        : connection;
  }

  async readStream(stream: string, fromRevision = 0n, limit?: number): Promise<StoredEvent[]> {
    if (limit !== undefined && limit <= 0) return [];
    return this.readFrom(stream, fromRevision, limit);
  }

  async readStreamBackward(stream: string, before: bigint | null, limit: number): Promise<StoredEvent[]> {
    if (limit <= 0 || (before !== null && before <= 0n)) return [];
    return this.readFrom(stream, before === null ? END : before - 1n, limit, BACKWARDS);
  }

  async readAll(after: string | null, limit: number): Promise<StoredEvent[]> {
    if (limit <= 0) return [];
    // Reading $all from a position includes the event at that position: ask for one more.
    const events: StoredEvent[] = [];
    for await (const resolved of this.client.readAll({
      direction: FORWARDS,
      fromPosition: after === null ? START : parseKurrentPosition(after),
      maxCount: limit + 1,
      filter: excludeSystemEvents(),
    })) {
      const event = resolved.event;
      if (!event || isSystemType(event.type)) continue;
      const stored = toStored(event);
      if (after !== null && stored.position <= after) continue;
      events.push(stored);
      if (events.length === limit) break;
    }
    return events;
  }

  /** $all has no count: the events are read (their positions are byte offsets), in pages. */
  async countAfter(after: string | null, limit: number): Promise<number> {
    let counted = 0;
    let from = after;
    for (;;) {
      const wanted = Math.min(COUNT_PAGE, limit - counted);
      if (wanted <= 0) return counted;
      const page = await this.readAll(from, wanted);
      counted += page.length;
      if (page.length < wanted) return counted;
      from = page[page.length - 1].position;
    }
  }

  async headPosition(): Promise<string | null> {
    for await (const resolved of this.client.readAll({
      direction: BACKWARDS,
      fromPosition: END,
      maxCount: 8,
      filter: excludeSystemEvents(),
    })) {
      const event = resolved.event;
      if (event && !isSystemType(event.type)) return toStored(event).position;
    }
    return null;
  }

  async append(writes: readonly StreamWrite[]): Promise<AppendResult> {
    checkAppend(writes);
    const before = await this.answerReplay(writes);
    if (before) return before;
    let result: AppendResult;
    try {
      result = writes.length === 1 ? await this.appendOne(writes[0]) : await this.appendMany(writes);
    } catch (error) {
      if (error instanceof ConcurrencyConflict) throw error;
      // Perhaps our own first attempt landed in between (see the class comment).
      const after = await this.answerReplay(writes).catch((judging: unknown) => {
        if (judging instanceof ConcurrencyConflict) throw judging;
        return null; // A failed look at the slots says less than the server's own error.
      });
      if (after) return after;
      throw error;
    }
    this.notify();
    return result;
  }

  onAppended(listener: () => void): () => void {
    // Wrapped so that registering the same function twice gives two independent registrations.
    const entry = () => listener();
    this.listeners.add(entry);
    this.subscribe();
    return () => {
      this.listeners.delete(entry);
      if (this.listeners.size === 0) void this.unsubscribe();
    };
  }

  async ping(): Promise<void> {
    for await (const _ of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) {
      // Reaching the server is the answer; the event itself does not matter.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.unsubscribe();
    await this.client.dispose();
  }

  private async appendOne(write: StreamWrite): Promise<AppendResult> {
    try {
      const result = await this.client.appendToStream(write.stream, write.events.map((event) => toEventData(event, 'json')), {
        streamState: write.expectedRevision,
      });
      const position = result.position
        ? formatKurrentPosition(result.position)
        : await this.positionOf(write.stream, result.nextExpectedRevision);
      return { position, revisions: new Map([[write.stream, result.nextExpectedRevision]]), duplicate: false };
    } catch (error) {
      throw toConflict(error, [write]);
    }
  }

  private async appendMany(writes: readonly StreamWrite[]): Promise<AppendResult> {
    let revisions: Map<string, bigint>;
    try {
      const result = await this.client.multiStreamAppend(
        writes.map((write) => ({
          streamName: write.stream,
          expectedState: write.expectedRevision,
          events: write.events.map((event) => toEventData(event, 'properties')),
        })),
      );
      revisions = new Map(result.responses.map((response) => [response.streamName, response.revision]));
    } catch (error) {
      throw toConflict(error, writes);
    }
    // The reply's one number is not a (commit, prepare) pair we can vouch for: the position the
    // port promises is that of the last event, so it is read back (one parallel round trip).
    const last = await Promise.all(writes.map((write) => this.positionOf(write.stream, revisions.get(write.stream) ?? -1n)));
    return { position: last.reduce((a, b) => (a > b ? a : b)), revisions, duplicate: false };
  }

  /** The duplicate rule over what the slots hold now: the replay's answer, null to send, or the partial replay's conflict. */
  private async answerReplay(writes: readonly StreamWrite[]): Promise<AppendResult | null> {
    const found = await Promise.all(writes.map((write) => this.slots(write)));
    const replay = judgeReplay(writes, found);
    if (replay.kind === 'fresh') return null;
    if (replay.kind === 'replay') return replay.result;
    const [last] = await this.readFrom(replay.write.stream, END, 1, BACKWARDS);
    throw new ConcurrencyConflict(replay.write.stream, replay.write.expectedRevision, last ? last.revision : 'no_stream');
  }

  /** The events at a write's slots (see slotsOf): after the expected revision, or for 'any' the stream's last ones. */
  private async slots(write: StreamWrite): Promise<(StoredEvent | undefined)[]> {
    const count = write.events.length;
    const events =
      write.expectedRevision === 'any'
        ? (await this.readFrom(write.stream, END, count, BACKWARDS)).reverse()
        : await this.readFrom(write.stream, slotsOf(write, null).from, count);
    const { from } = slotsOf(write, events.length === 0 ? null : events[events.length - 1].revision);
    return write.events.map((_, j) => events.find((event) => event.revision === from + BigInt(j)));
  }

  private async readFrom(stream: string, fromRevision: bigint | typeof END, maxCount?: number, direction: typeof FORWARDS | typeof BACKWARDS = FORWARDS): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(stream, {
        direction,
        fromRevision,
        ...(maxCount === undefined ? {} : { maxCount }),
      })) {
        if (resolved.event) events.push(toStored(resolved.event));
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  private async positionOf(stream: string, revision: bigint): Promise<string> {
    const [event] = await this.readFrom(stream, revision, 1);
    if (!event) throw new Error(`KurrentDB did not return ${stream}@${revision} right after writing it`);
    return event.position;
  }

  private notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A wake-up hint must not fail the append that triggered it; followers poll anyway.
      }
    }
  }

  /** Many events can arrive at once on the subscription; one wake-up per turn is enough. */
  private notifySoon(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      this.notify();
    });
  }

  /** Other instances' appends reach us through a live $all subscription (from the end: only new events). */
  private subscribe(): void {
    if (this.closed || this.subscription || this.resubscribeTimer || this.listeners.size === 0) return;
    const subscription = this.client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
    this.subscription = subscription;
    subscription.on('data', () => this.notifySoon());
    // The subscription is only a hint: when it breaks, try again a little later; followers keep polling.
    const dropped = () => {
      if (this.subscription !== subscription) return;
      this.subscription = undefined;
      if (this.closed || this.listeners.size === 0) return;
      this.resubscribeTimer = setTimeout(() => {
        this.resubscribeTimer = undefined;
        this.subscribe();
      }, RESUBSCRIBE_AFTER_MS);
      this.resubscribeTimer.unref();
    };
    subscription.on('error', dropped);
    subscription.on('close', dropped);
  }

  private async unsubscribe(): Promise<void> {
    clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = undefined;
    const subscription = this.subscription;
    this.subscription = undefined;
    if (!subscription) return;
    await subscription.unsubscribe().catch(() => undefined);
    // Cancelling the call does not always end the piped stream; make sure it lets go.
    subscription.destroy();
  }
}

/**
 * How metadata is written (see WRAPPED_METADATA): as it is when it reads back unchanged on the
 * path ('json': appendToStream; 'properties': multiStreamAppend, string values only), else wrapped.
 */
export function encodeMetadata(metadata: JsonObject | undefined, path: 'json' | 'properties'): Record<string, unknown> | undefined {
  const entries = Object.entries(metadata ?? {});
  if (entries.length === 0) return undefined;
  const asIs = entries.every(
    ([key, value]) => !key.startsWith('$') && key !== WRAPPED_METADATA && (path === 'json' || typeof value === 'string'),
  );
  return asIs ? { ...metadata } : { [WRAPPED_METADATA]: JSON.stringify(metadata) };
}

/** The inverse of encodeMetadata, given what the server reads back (which may add `$schema.*` keys). */
export function decodeMetadata(raw: unknown): JsonObject {
  if (!isPlainObject(raw)) return {};
  const own = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith(SERVER_METADATA_PREFIX)));
  const wrapped = own[WRAPPED_METADATA];
  if (typeof wrapped !== 'string') return own;
  const unwrapped: unknown = JSON.parse(wrapped);
  return isPlainObject(unwrapped) ? unwrapped : {};
}

function toEventData(event: NewEvent, path: 'json' | 'properties'): EventData {
  return jsonEvent({
    id: event.id,
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata: encodeMetadata(event.metadata, path),
  });
}

function toStored(event: Recorded): StoredEvent {
  if (!event.position) {
    // Stream reads carry log positions since server 22.6; without one we cannot order the event.
    throw new Error(`KurrentDB returned ${event.streamId}@${event.revision} without a log position`);
  }
  return {
    id: event.id,
    stream: event.streamId,
    revision: event.revision,
    position: formatKurrentPosition(event.position),
    type: event.type,
    data: (isPlainObject(event.data) ? event.data : {}) as JsonObject,
    metadata: decodeMetadata(event.metadata),
  };
}

function toConflict(raw: unknown, writes: readonly StreamWrite[]): unknown {
  // Errors that bypass the client's own conversion (e.g. from the gRPC call stream) arrive raw.
  const error = raw instanceof Error ? convertToCommandError(raw) : raw;
  if (!(error instanceof WrongExpectedVersionError)) return error;
  // We never send stream_exists, so the expectation that failed is the one in our write.
  const write = writes.find((w) => w.stream === error.streamName) ?? writes[0];
  const actual = typeof error.actualState === 'bigint' && error.actualState >= 0n ? error.actualState : 'no_stream';
  return new ConcurrencyConflict(write.stream, write.expectedRevision, actual);
}
