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
  ConcurrencyConflict,
  EventStore,
  formatPosition,
  JsonObject,
  NewEvent,
  StoredEvent,
  StreamWrite,
} from './port';

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
 * multiStreamAppend only carries metadata as string-valued properties. Metadata that does not
 * fit (numbers, nested objects, keys in the server's reserved `$` namespace) travels as one JSON
 * string under this key and is unwrapped on read, so both append paths read back the same.
 */
const WRAPPED_METADATA = 'eventmart.metadata';
/** Keys the server adds when it turns multi-stream-append properties back into metadata. */
const SERVER_METADATA_PREFIX = '$schema.';
const RESUBSCRIBE_AFTER_MS = 1_000;

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
const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/**
 * The production event store (ARCHITECTURE.md, ports and adapters) over KurrentDB >= 25.1.
 *
 * Duplicates: KurrentDB answers a replayed append (same event ids, same expected revision as the
 * first attempt) with success and writes nothing, but the reply looks exactly like a fresh write.
 * So before an append with an exact or no_stream expectation we read the slots the events would
 * take (expected + 1 ...); if the same ids are already there, it is a replay and we answer with
 * the original revisions and position without writing. Usually that read finds nothing and costs
 * one short round trip. Not covered, by design of the server: appends with 'any' (KurrentDB
 * dedupes those only on a best-effort basis), a replay that races its own first attempt (the
 * server still writes nothing, we report duplicate: false), and a retry that re-decides against
 * the *new* revision (KurrentDB writes the ids again; the idempotency-key store must catch that).
 */
export class KurrentDbEventStore implements EventStore {
  readonly adapterName = 'kurrentdb';
  private readonly client: KurrentDBClient;
  private readonly listeners = new Set<() => void>();
  private subscription: AllStreamSubscription | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;
  private notifyScheduled = false;
  private closed = false;

  constructor(connectionString: string) {
    // The client still accepts esdb:// but warns on every start; it is the same protocol.
    this.client = KurrentDBClient.connectionString(connectionString.replace(/^esdb(\+discover)?:\/\//, 'kurrentdb$1://'));
  }

  async readStream(stream: string, fromRevision = 0n): Promise<StoredEvent[]> {
    return this.readFrom(stream, fromRevision);
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
    if (writes.length === 0) throw new RangeError('append needs at least one stream write');
    const replayed = await this.findReplay(writes);
    if (replayed) return replayed;
    const result = writes.length === 1 ? await this.appendOne(writes[0]) : await this.appendMany(writes);
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
      const result = await this.client.appendToStream(write.stream, write.events.map(toEventData), {
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
    try {
      const result = await this.client.multiStreamAppend(
        writes.map((write) => ({
          streamName: write.stream,
          expectedState: write.expectedRevision,
          events: write.events.map(toPropertiesEventData),
        })),
      );
      // The reply carries one log position for the whole transaction: that of its last record.
      // Records written without an explicit transaction have commit == prepare == that position.
      return {
        position: formatKurrentPosition({ commit: result.position, prepare: result.position }),
        revisions: new Map(result.responses.map((response) => [response.streamName, response.revision])),
        duplicate: false,
      };
    } catch (error) {
      throw toConflict(error, writes);
    }
  }

  /** An append is a replay when every write finds its own event ids where it would put them. */
  private async findReplay(writes: readonly StreamWrite[]): Promise<AppendResult | null> {
    if (writes.some((write) => write.expectedRevision === 'any' || write.events.length === 0)) return null;
    const found = await Promise.all(
      writes.map(async (write) => {
        const from = write.expectedRevision === 'no_stream' ? 0n : (write.expectedRevision as bigint) + 1n;
        const existing = await this.readFrom(write.stream, from, write.events.length);
        const replayed =
          existing.length === write.events.length && existing.every((event, i) => sameId(event.id, write.events[i].id));
        return replayed ? existing : null;
      }),
    );
    if (found.some((events) => events === null)) return null;
    const revisions = new Map<string, bigint>();
    let position = '';
    for (const events of found as StoredEvent[][]) {
      const last = events[events.length - 1];
      revisions.set(last.stream, last.revision);
      if (last.position > position) position = last.position;
    }
    return { position, revisions, duplicate: true };
  }

  private async readFrom(stream: string, fromRevision: bigint, maxCount?: number): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(stream, {
        direction: FORWARDS,
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

function toEventData(event: NewEvent): EventData {
  return jsonEvent({
    id: event.id,
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata: event.metadata && Object.keys(event.metadata).length > 0 ? (event.metadata as Record<string, unknown>) : undefined,
  });
}

function toPropertiesEventData(event: NewEvent): EventData {
  const metadata = event.metadata ?? {};
  const entries = Object.entries(metadata);
  const fitsAsProperties = entries.every(([key, value]) => typeof value === 'string' && !key.startsWith('$'));
  return jsonEvent({
    id: event.id,
    type: event.type,
    data: event.data as Record<string, unknown>,
    metadata:
      entries.length === 0
        ? undefined
        : fitsAsProperties
          ? (metadata as Record<string, string>)
          : { [WRAPPED_METADATA]: JSON.stringify(metadata) },
  });
}

function toStoredMetadata(raw: unknown): JsonObject {
  if (!isPlainObject(raw)) return {};
  const own = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith(SERVER_METADATA_PREFIX)));
  const wrapped = own[WRAPPED_METADATA];
  if (typeof wrapped === 'string' && Object.keys(own).length === 1) {
    const unwrapped: unknown = JSON.parse(wrapped);
    return isPlainObject(unwrapped) ? unwrapped : {};
  }
  return own;
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
    metadata: toStoredMetadata(event.metadata),
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
