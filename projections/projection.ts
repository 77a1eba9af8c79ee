import { CollectionSpec, Doc } from '../src/shared/documents/port';
import { DomainEvent } from '../src/shared/domain/decider';
import { StoredEvent } from '../src/shared/eventstore/port';
import { recorded, Recorded } from '../src/shared/eventstore/recorded';

/** What a projection may do while applying one event: reads see the writes of its own batch. */
export interface ProjectionView {
  get<T extends Doc>(collection: string, id: string): Promise<T | null>;
  upsert(collection: string, doc: Doc): void;
  delete(collection: string, id: string): void;
}

/**
 * A read model fed from the global log. `apply` must be deterministic in the event alone (plus
 * what it reads from its own collections), so a rebuild from the start gives the live result.
 */
export interface Projection {
  readonly name: string;
  readonly collections: readonly CollectionSpec[];
  /** Event types it reacts to; the runtime skips the rest without calling it. */
  readonly eventTypes: ReadonlySet<string>;
  apply(event: StoredEvent, view: ProjectionView): Promise<void>;
  /**
   * Runs after a batch and its checkpoint are stored, with the events of the batch it handles:
   * the place to invalidate caches, since readers may now see the new read model.
   */
  afterCommit?(events: readonly StoredEvent[]): Promise<void>;
  /** Runs when a rebuild clears the read model: state kept outside the document store is cleared too. */
  onReset?(): Promise<void>;
  /**
   * Repairs state kept outside the document store from the read model, when it was lost (Redis
   * restarted) or may have missed an `afterCommit` (`tookOver`: this runner just took the
   * projection over from one that may have died between a commit and its hook). The live
   * runner calls it when it takes the lease and whenever it is idle, so it must be cheap when
   * there is nothing to repair.
   */
  recover?(tookOver: boolean): Promise<void>;
  /**
   * What of a document a replay must reproduce, when others also write to it (delivery workers
   * record their progress on the outbox's documents): `npm run verify` compares only this part.
   */
  comparable?(collection: string, doc: Doc): Doc;
}

/** Marks an event type a projection follows but has nothing to do for. */
export const skip = null;

type Handler<E extends DomainEvent> = (event: Recorded<E>, view: ProjectionView) => Promise<void> | void;

/**
 * One entry for every event type of the aggregates a projection follows, `skip` for those it
 * ignores: when an aggregate learns a new event, each projection that follows it fails to
 * compile until someone decides what the new event means for it.
 */
export type Handlers<E extends DomainEvent> = { readonly [T in E['type']]: Handler<Extract<E, { type: T }>> | typeof skip };

export interface ProjectionDefinition<E extends DomainEvent> extends Omit<Projection, 'eventTypes' | 'apply' | 'afterCommit'> {
  readonly handlers: Handlers<E>;
  /** As Projection.afterCommit, with the events it handled. */
  afterCommit?(events: readonly Recorded<E>[]): Promise<void>;
}

/** A projection over the event union E, from its handlers. */
export function projection<E extends DomainEvent>({ handlers, afterCommit, ...rest }: ProjectionDefinition<E>): Projection {
  const byType = new Map<string, Handler<E>>();
  for (const [type, handler] of Object.entries(handlers) as [string, Handler<E> | null][]) if (handler) byType.set(type, handler);
  return {
    ...rest,
    eventTypes: new Set(byType.keys()),
    // The runtime only hands over the types in eventTypes.
    apply: async (event, view) => byType.get(event.type)!(recorded<E>(event), view),
    ...(afterCommit ? { afterCommit: (events: readonly StoredEvent[]) => afterCommit(events.map((event) => recorded<E>(event))) } : {}),
  };
}
