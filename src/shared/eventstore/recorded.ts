import { DomainEvent } from '../domain/decider';
import { StoredEvent } from './port';

/** A domain event as the log hands it back: its own type and data, plus where it stands in the log. */
export type Recorded<E extends DomainEvent> = E extends DomainEvent ? E & Omit<StoredEvent, 'type' | 'data'> : never;

/**
 * The one place the untyped log meets the event unions. The log stores only what the deciders
 * appended, and an event's type names the shape of its data, so reading it back as one of the
 * union's members is sound; code that receives a type it does not know must still say so at run
 * time (a `never` default that reports, or a projection's unhandled-type filter).
 */
export const recorded = <E extends DomainEvent>(event: StoredEvent): Recorded<E> => event as unknown as Recorded<E>;
