/** Injection tokens: the edges the composition root decides (stores, clock, ids, configuration). */
export const TOKENS = {
  Config: Symbol.for('Config'),
  Clock: Symbol.for('Clock'),
  Ids: Symbol.for('IdGenerator'),
  Logger: Symbol.for('Logger'),
  EventStore: Symbol.for('EventStore'),
  Documents: Symbol.for('DocumentStore'),
  Locks: Symbol.for('LockService'),
  Idempotency: Symbol.for('IdempotencyStore'),
  Snapshots: Symbol.for('AggregateSnapshots'),
} as const;

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  newId(): string;
}
