import { Command, Decider, DomainEvent } from '../domain/decider';
import { DomainError } from '../domain/errors';
import { ConcurrencyConflict, EventStore, JsonObject, NewEvent } from '../eventstore/port';
import { eventIds } from './event-ids';
import type { CommandContext, Handled, Loaded } from './handler';

export interface GroupCommitOptions<S> {
  /** The stream's current state; the command handler's `load`, so its per-instance cache is shared. */
  readonly load: (stream: string) => Promise<Loaded<S>>;
  readonly store: EventStore;
  /** Decide-and-append rounds a batch gets before each of its requests fails with CONCURRENCY_CONFLICT. */
  readonly maxAttempts: number;
  /** Most requests decided and appended together. */
  readonly maxBatch?: number;
}

interface Queued<C, E, S> {
  readonly command: C;
  readonly context: CommandContext;
  readonly resolve: (handled: Handled<E, S>) => void;
  readonly reject: (error: unknown) => void;
}

type Decided<C, E, S> = Queued<C, E, S> &
  ({ readonly ok: true; readonly events: readonly E[]; readonly state: S; readonly revision: bigint | null } | { readonly ok: false; readonly error: unknown });

/**
 * Group commit for hot streams. Commands for one stream queue up while a batch is being
 * written; the next batch is decided one command after another against ONE loaded state (each
 * sees the ones before it) and written in ONE append with the expected revision. Each command
 * gets its own answer: its events, or the error its decision threw. A thousand requests for one
 * coupon thus cost a few appends instead of a storm of version conflicts.
 *
 * Another instance writing to the stream makes the append conflict; the batch is then decided
 * again on the reloaded state (bounded, with jitter). So is a batch whose every event id the
 * log already holds (we decided on a stale state): the decision against the log is the answer.
 */
export class GroupCommit<C extends Command, E extends DomainEvent, S> {
  private readonly queues = new Map<string, Queued<C, E, S>[]>();
  private readonly maxBatch: number;

  constructor(
    private readonly decider: Decider<C, E, S>,
    private readonly options: GroupCommitOptions<S>,
  ) {
    this.maxBatch = options.maxBatch ?? 500;
  }

  submit(id: string, command: C, context: CommandContext): Promise<Handled<E, S>> {
    const stream = `${this.decider.category}-${id}`;
    return new Promise((resolve, reject) => {
      const queued = { command, context, resolve, reject };
      const queue = this.queues.get(stream);
      if (queue) {
        queue.push(queued);
        return;
      }
      this.queues.set(stream, [queued]);
      void this.drain(stream);
    });
  }

  private async drain(stream: string): Promise<void> {
    const queue = this.queues.get(stream)!;
    while (queue.length > 0) await this.commit(stream, queue.splice(0, this.maxBatch));
    this.queues.delete(stream);
  }

  /** Settles every request of the batch; never throws. */
  private async commit(stream: string, batch: readonly Queued<C, E, S>[]): Promise<void> {
    try {
      for (let attempt = 1; ; attempt += 1) {
        const loaded = await this.options.load(stream);
        const decided = this.decideInTurn(loaded, batch);
        const events = decided.flatMap((d) => (d.ok ? this.toNew(stream, d.events, d.context) : []));
        if (events.length === 0) return settle(decided, loaded.position);
        try {
          const result = await this.options.store.append([{ stream, expectedRevision: loaded.revision ?? 'no_stream', events }]);
          if (!result.duplicate) return settle(decided, result.position);
        } catch (error) {
          if (!(error instanceof ConcurrencyConflict)) throw error;
        }
        if (attempt >= this.options.maxAttempts) {
          const conflict = new DomainError('CONCURRENCY_CONFLICT', 'conflict', 'the resource kept changing; try again', { stream });
          return batch.forEach((queued) => queued.reject(conflict));
        }
        await jitter(attempt);
      }
    } catch (error) {
      batch.forEach((queued) => queued.reject(error));
    }
  }

  private decideInTurn(loaded: Loaded<S>, batch: readonly Queued<C, E, S>[]): Decided<C, E, S>[] {
    let { state, revision } = loaded;
    return batch.map((queued) => {
      try {
        const events = this.decider.decide(queued.command, state);
        state = events.reduce((s, e) => this.decider.evolve(s, e), state);
        if (events.length > 0) revision = (revision ?? -1n) + BigInt(events.length);
        return { ...queued, ok: true, events, state, revision };
      } catch (error) {
        return { ...queued, ok: false, error };
      }
    });
  }

  private toNew(stream: string, events: readonly E[], context: CommandContext): NewEvent[] {
    const ids = eventIds(context.idSeed);
    return events.map((event, index) => ({ id: ids(stream, index), type: event.type, data: event.data as JsonObject, metadata: context.metadata }));
  }
}

/** Each request's state and revision are as of its own turn; the position is the batch's, which includes its events. */
function settle<C, E, S>(decided: readonly Decided<C, E, S>[], position: string | null): void {
  for (const d of decided) {
    if (d.ok) d.resolve({ events: d.events, state: d.state, revision: d.revision, position });
    else d.reject(d.error);
  }
}

/**
 * Between half and all of an exponential delay (20 ms doubling up to 1 s). A writer that keeps
 * a stream busy wins every race while it has work (its next append is always queued first), so
 * a retry budget of a few milliseconds starves the others; the default 8 attempts wait out a
 * burst of one to two seconds.
 */
const jitter = (attempt: number) => {
  const delay = Math.min(1000, 10 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, delay / 2 + (Math.random() * delay) / 2));
};
