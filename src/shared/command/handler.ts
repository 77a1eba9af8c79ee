import { inject, injectable } from 'inversify';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config';
import { TOKENS } from '../container/tokens';
import { Command, Decider, DomainEvent } from '../domain/decider';
import { DomainError } from '../domain/errors';
import { ConcurrencyConflict } from '../eventstore/port';
import type { EventStore, JsonObject } from '../eventstore/port';
import type { LockService } from '../lock/port';
import { eventIds } from './event-ids';

export interface CommandContext {
  /** Makes event ids deterministic (see event-ids.ts); absent means random ids. */
  readonly idSeed?: string;
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
 * The keyed lock makes one instance's concurrent commands on a stream queue rather than race;
 * it is an optimisation only, the expected revision is the guard.
 */
@injectable()
export class CommandHandler {
  private readonly cache: LRUCache<string, Loaded<unknown>>;

  constructor(
    @inject(TOKENS.EventStore) private readonly store: EventStore,
    @inject(TOKENS.Locks) private readonly locks: LockService,
    @inject(TOKENS.Config) private readonly config: Config,
  ) {
    this.cache = new LRUCache({ max: config.AGGREGATE_CACHE_SIZE });
  }

  async load<S>(decider: Decider<never, DomainEvent, S>, stream: string): Promise<Loaded<S>> {
    const cached = (this.cache.get(stream) as Loaded<S> | undefined) ?? { state: decider.initialState, revision: null, position: null };
    const newer = await this.store.readStream(stream, cached.revision === null ? 0n : cached.revision + 1n);
    if (newer.length === 0) return cached;
    const last = newer[newer.length - 1];
    const loaded: Loaded<S> = {
      state: newer.reduce((state, event) => decider.evolve(state, event as unknown as DomainEvent), cached.state),
      revision: last.revision,
      position: last.position,
    };
    this.cache.set(stream, loaded);
    return loaded;
  }

  async handle<C extends Command, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    id: string,
    command: C,
    context: CommandContext,
  ): Promise<Handled<E, S>> {
    const stream = `${decider.category}-${id}`;
    return this.locks.withLock(stream, () => this.withRetry(stream, () => this.attempt(decider, stream, command, context)));
  }

  private async attempt<C extends Command, E extends DomainEvent, S>(
    decider: Decider<C, E, S>,
    stream: string,
    command: C,
    context: CommandContext,
  ): Promise<Handled<E, S>> {
    const loaded = await this.load(decider as Decider<never, DomainEvent, S>, stream);
    const events = decider.decide(command, loaded.state);
    if (events.length === 0) return { ...loaded, events };
    const ids = eventIds(context.idSeed);
    const result = await this.store.append([
      {
        stream,
        expectedRevision: loaded.revision ?? 'no_stream',
        events: events.map((event, index) => ({
          id: ids(stream, index),
          type: event.type,
          data: event.data as JsonObject,
          metadata: context.metadata,
        })),
      },
    ]);
    if (result.duplicate) {
      // A retry of a command that already landed: answer from the log, not from our new decision.
      this.cache.delete(stream);
      return { ...(await this.load(decider as Decider<never, DomainEvent, S>, stream)), events: [] };
    }
    const written: Handled<E, S> = {
      state: events.reduce(decider.evolve, loaded.state),
      revision: result.revisions.get(stream)!,
      position: result.position,
      events,
    };
    this.cache.set(stream, written);
    return written;
  }

  private async withRetry<T>(stream: string, attempt: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof ConcurrencyConflict)) throw error;
        this.cache.delete(stream);
        if (tries >= this.config.COMMAND_MAX_ATTEMPTS) {
          throw new DomainError('CONCURRENCY_CONFLICT', 'conflict', 'the resource kept changing; try again', { stream });
        }
        await jitteredBackoff(tries);
      }
    }
  }
}

const jitteredBackoff = (tries: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** tries)));
