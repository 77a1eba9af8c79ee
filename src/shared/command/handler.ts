import { inject, injectable, optional } from 'inversify';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config';
import { TOKENS } from '../container/tokens';
import { Command, Decider, DomainEvent } from '../domain/decider';
import { DomainError } from '../domain/errors';
import { ConcurrencyConflict } from '../eventstore/port';
import type { AppendResult, EventStore, JsonObject, StoredEvent, StreamWrite } from '../eventstore/port';
import { InProcessLockService } from '../lock/memory';
import type { LockService } from '../lock/port';
import type { AggregateSnapshots } from '../snapshots/snapshots';
import { eventIds, uuidFromHash } from './event-ids';

export interface CommandContext {
  /** Makes event ids deterministic (see ./event-ids.ts); absent means random ids. */
  readonly idSeed?: string;
  /**
   * Streams the command creates under ids it has just drawn at random, which no one else can
   * know yet: the first attempt decides on their initial state without reading them (the
   * append's no_stream still checks), a retry reads them like any other.
   */
  readonly newStreams?: readonly string[];
  /** Who asked, and why: kept on every event for audit. */
  readonly metadata: JsonObject;
}

export interface Loaded<S> {
  readonly state: S;
  /** Revision of the last event folded in, or null for a stream that does not exist yet. */
  readonly revision: bigint | null;
  /** Global position of the last event folded in. */
  readonly position: string | null;
}

/** Events read to tell a short stream, which has no snapshot to look for, from a long one. */
const SHORT_STREAM = 64;

export const streamName = (decider: Pick<Decider<never, DomainEvent, unknown>, 'category'>, id: string) => `${decider.category}-${id}`;

/** What `transact` hands its work: aggregates loaded once per attempt, decisions kept for one append. */
export interface UnitOfWork {
  /** The aggregate's state, including what this unit has decided on it so far. */
  state<S>(decider: Decider<never, DomainEvent, S>, id: string): Promise<S>;
  /** Decides against the state in this unit; the events are appended when the work returns. */
  decide<C extends Command, E extends DomainEvent, S>(decider: Decider<C, E, S>, id: string, command: C): Promise<readonly E[]>;
  /** Keeps events a pure decision over several aggregates made from this unit's states, as if `decide` had made them. */
  record<E extends DomainEvent, S>(decider: Decider<never, E, S>, id: string, events: readonly E[]): Promise<void>;
}

export interface Committed<T> {
  readonly result: T;
  /** Position of the write, or null when the work decided nothing. */
  readonly position: string | null;
  /** Every event id was already in the log: a retried request that had landed before. */
  readonly duplicate: boolean;
  /** Each touched aggregate after the write (empty for a duplicate). */
  readonly aggregates: ReadonlyMap<string, Loaded<unknown>>;
}

export interface Handled<E, S> extends Loaded<S> {
  /** What this command wrote (empty when it changed nothing). */
  readonly events: readonly E[];
}

/**
 * Load, decide, append with the expected revision, retry on conflict.
 *
 * Aggregate state is cached per instance with its revision; a load reads only the events after
 * it, so the cost of a command does not grow with the stream. Another instance writing to the
 * stream is harmless: our append then conflicts, we drop the cached state and decide again.
 * Locks are an optimisation only; the expected revision is the guard. Commands of this instance
 * on the same streams queue in process. The shared lock (Redis, with several instances) costs
 * two round trips, so it is taken only after a conflict shows another instance is writing the
 * same streams: uncontended commands pay nothing for it, contended ones stop thrashing.
 */
@injectable()
export class CommandHandler {
  private readonly cache: LRUCache<string, Loaded<unknown>>;
  private readonly local = new InProcessLockService();

  constructor(
    @inject(TOKENS.EventStore) private readonly store: EventStore,
    @inject(TOKENS.Locks) private readonly locks: LockService,
    @inject(TOKENS.Config) private readonly config: Config,
    /** Absent (tests, SNAPSHOT_EVERY=0): a cold load folds the whole stream. */
    @inject(TOKENS.Snapshots) @optional() private readonly snapshots?: AggregateSnapshots,
  ) {
    this.cache = new LRUCache({ max: config.AGGREGATE_CACHE_SIZE });
  }

  async load<S>(decider: Decider<never, DomainEvent, S>, stream: string): Promise<Loaded<S>> {
    const cached = this.cache.get(stream) as Loaded<S> | undefined;
    if (cached) return this.foldNewer(decider, stream, cached, await this.store.readStream(stream, cached.revision! + 1n));
    const empty: Loaded<S> = { state: decider.initialState, revision: null, position: null };
    // Most cold loads are of short streams (a new order, a wallet seen for the first time): the
    // start of the stream is read first, and only a stream longer than that can have a snapshot
    // worth asking for.
    const probe = this.snapshots ? Math.min(SHORT_STREAM, this.snapshots.every) : undefined;
    const start = await this.store.readStream(stream, 0n, probe);
    if (probe === undefined || start.length < probe) return this.foldNewer(decider, stream, empty, start);
    const snapshot = await this.snapshots!.restore(decider, stream);
    if (snapshot) {
      const events = await this.store.readStream(stream, snapshot.revision);
      // Only the log decides: a snapshot whose event it does not hold at that revision (a log
      // restored from a backup, or replaced) came from another history and is thrown away.
      if (events[0]?.id === snapshot.eventId) {
        const restored = { state: snapshot.state, revision: snapshot.revision, position: events[0].position };
        return this.foldNewer(decider, stream, restored, events.slice(1));
      }
      await this.snapshots!.reject(stream);
    }
    return this.foldNewer(decider, stream, empty, [...start, ...(await this.store.readStream(stream, BigInt(probe)))]);
  }

  private foldNewer<S>(decider: Decider<never, DomainEvent, S>, stream: string, from: Loaded<S>, newer: readonly StoredEvent[]): Loaded<S> {
    if (newer.length === 0) {
      if (from.revision !== null && !this.cache.has(stream)) this.cache.set(stream, from);
      return from;
    }
    const last = newer[newer.length - 1];
    const loaded: Loaded<S> = {
      state: newer.reduce((state, event) => decider.evolve(state, event), from.state),
      revision: last.revision,
      position: last.position,
    };
    this.cache.set(stream, loaded);
    this.snapshots?.offer(decider, stream, loaded.state, last.revision, last.id);
    return loaded;
  }

  /** One command on one aggregate: the single-stream case of `transact`. */
  async handle<C extends Command, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    id: string,
    command: C,
    context: CommandContext,
  ): Promise<Handled<E, S>> {
    const stream = streamName(decider, id);
    const committed = await this.transact([stream], (unit) => unit.decide(decider, id, command), context);
    const aggregate = committed.duplicate
      ? await this.load(decider as Decider<never, DomainEvent, S>, stream)
      : (committed.aggregates.get(stream) as Loaded<S>);
    return { ...aggregate, events: committed.duplicate ? [] : committed.result };
  }

  /**
   * Decisions over several aggregates that land together or not at all (docs/ARCHITECTURE.md
   * principle 2): `work` loads and decides through the unit, then every stream that got events
   * is appended in one atomic write, each with the revision it was decided on. A conflict on
   * any of them discards the whole attempt and runs `work` again on fresh state.
   */
  async transact<T>(lockKeys: readonly string[], work: (unit: UnitOfWork) => Promise<T>, context: CommandContext): Promise<Committed<T>> {
    const keys = [...new Set(lockKeys)].sort();
    const attempt = () => this.attemptUnit(work, { ...context, newStreams: undefined });
    return underLocks(this.local, keys, async () => {
      try {
        return await this.attemptUnit(work, context);
      } catch (error) {
        if (!(error instanceof ConcurrencyConflict)) throw error;
        this.cache.delete(error.stream);
      }
      // Another instance wrote to one of these streams: from now on queue behind it through the
      // shared lock rather than race it again.
      return underLocks(this.locks, keys, () => this.withRetry(attempt, 2));
    });
  }

  private async attemptUnit<T>(work: (unit: UnitOfWork) => Promise<T>, context: CommandContext): Promise<Committed<T>> {
    const entries = new Map<string, UnitEntry>();
    const entry = async (decider: Decider<never, DomainEvent, unknown>, id: string) => {
      const stream = streamName(decider, id);
      let found = entries.get(stream);
      if (!found) {
        const loaded = context.newStreams?.includes(stream) ? { state: decider.initialState, revision: null, position: null } : await this.load(decider, stream);
        found = { decider, loaded, state: loaded.state, events: [] };
        entries.set(stream, found);
      }
      return found;
    };
    const keep = (target: UnitEntry, events: readonly DomainEvent[]) => {
      target.state = events.reduce((state, event) => target.decider.evolve(state, event), target.state);
      target.events.push(...events);
    };
    const unit: UnitOfWork = {
      state: async (decider, id) => (await entry(decider as Decider<never, DomainEvent, unknown>, id)).state as never,
      decide: async (decider, id, command) => {
        const target = await entry(decider as Decider<never, DomainEvent, unknown>, id);
        const events = decider.decide(command, target.state as never);
        keep(target, events);
        return events;
      },
      record: async (decider, id, events) => keep(await entry(decider as Decider<never, DomainEvent, unknown>, id), events),
    };
    const result = await work(unit);

    const changed = [...entries].filter(([, e]) => e.events.length > 0);
    if (changed.length === 0) {
      return { result, position: null, duplicate: false, aggregates: new Map([...entries].map(([stream, e]) => [stream, e.loaded])) };
    }
    const ids = eventIds(context.idSeed);
    const writes: StreamWrite[] = changed.map(([stream, e]) => ({
      stream,
      expectedRevision: e.loaded.revision ?? 'no_stream',
      events: e.events.map((event, index) => ({
        id: ids(stream, index),
        type: event.type,
        data: event.data as JsonObject,
        metadata: context.metadata,
      })),
    }));
    const guard = context.idSeed === undefined ? null : requestGuard(context.idSeed, ids, context.metadata);
    let appended: AppendResult;
    try {
      appended = await this.store.append(guard ? [...writes, guard] : writes);
    } catch (error) {
      if (!(guard && error instanceof ConcurrencyConflict && error.stream === guard.stream)) throw error;
      // The request's guard stream exists: this request landed before (a lost answer, a
      // retry after a crash). Deciding again against newer state must not write it twice.
      const [first] = await this.store.readStream(guard.stream);
      changed.forEach(([stream]) => this.cache.delete(stream));
      return { result, position: first.position, duplicate: true, aggregates: new Map() };
    }
    if (appended.duplicate) {
      // A retry of work that already landed: what we just decided was not written.
      changed.forEach(([stream]) => this.cache.delete(stream));
      return { result, position: appended.position, duplicate: true, aggregates: new Map() };
    }
    const aggregates = new Map<string, Loaded<unknown>>();
    for (const [stream, e] of entries) {
      const revision = appended.revisions.get(stream);
      const after = revision === undefined ? e.loaded : { state: e.state, revision, position: appended.position };
      if (revision !== undefined) {
        this.cache.set(stream, after);
        const written = writes.find((write) => write.stream === stream)!.events;
        this.snapshots?.offer(e.decider, stream, e.state, revision, written[written.length - 1].id);
      }
      aggregates.set(stream, after);
    }
    return { result, position: appended.position, duplicate: false, aggregates };
  }

  /** `firstTry` counts the attempts already made, so COMMAND_MAX_ATTEMPTS bounds them all. */
  private async withRetry<T>(attempt: () => Promise<T>, firstTry: number): Promise<T> {
    for (let tries = firstTry; ; tries += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof ConcurrencyConflict)) throw error;
        this.cache.delete(error.stream);
        if (tries >= this.config.COMMAND_MAX_ATTEMPTS) {
          throw new DomainError('CONCURRENCY_CONFLICT', 'conflict', 'the resource kept changing; try again', { stream: error.stream });
        }
        await jitteredBackoff(tries);
      }
    }
  }
}

/** Runs `fn` holding every key's lock, taken in the given (sorted) order so two units cannot deadlock. */
function underLocks<T>(locks: LockService, keys: readonly string[], fn: () => Promise<T>): Promise<T> {
  const locked = keys.reduceRight<() => Promise<T>>((inner, key) => () => locks.withLock(key, inner), fn);
  return locked();
}

/**
 * A request with an Idempotency-Key also creates its own `request-…` stream in the same atomic
 * write, expecting it not to exist. A retry that decides again against newer state (where
 * deterministic event ids alone do not help: KurrentDB only recognises ids at the expected
 * revision) then conflicts on this stream instead of writing the command a second time.
 */
function requestGuard(idSeed: string, ids: (stream: string, index: number) => string, metadata: JsonObject): StreamWrite {
  const stream = `request-${uuidFromHash(idSeed)}`;
  return { stream, expectedRevision: 'no_stream', events: [{ id: ids(stream, 0), type: 'RequestHandled', data: {}, metadata }] };
}

interface UnitEntry {
  readonly decider: Decider<never, DomainEvent, unknown>;
  readonly loaded: Loaded<unknown>;
  state: unknown;
  readonly events: DomainEvent[];
}

const jitteredBackoff = (tries: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** tries)));
