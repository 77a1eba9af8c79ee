/**
 * The shape every aggregate follows: pure functions over plain data, no I/O. Time, ids and
 * configured limits arrive on the command so a decision can be replayed and tested exactly.
 */
export interface DomainEvent<Type extends string = string, Data extends object = object> {
  readonly type: Type;
  readonly data: Readonly<Data>;
}

export interface Command<Type extends string = string, Data extends object = object> {
  readonly type: Type;
  readonly data: Readonly<Data>;
}

export interface Decider<C extends Command, E extends DomainEvent, S> {
  /** The category part of stream names, e.g. `wallet` for `wallet-<userId>`. */
  readonly category: string;
  readonly initialState: S;
  /**
   * Bump when folding changes somewhere `evolve`'s own source does not show (a helper it calls,
   * the state's shape): snapshots of the state (src/shared/snapshots) written before are ignored.
   */
  readonly stateVersion?: number;
  /** Returns the events the command causes (none when it changes nothing), or throws a DomainError. */
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: E): S;
}

export const fold = <E extends DomainEvent, S>(decider: Pick<Decider<never, E, S>, 'evolve'>, state: S, events: readonly E[]): S =>
  events.reduce((s, e) => decider.evolve(s, e), state);

/** For the `default` branch of a switch over a discriminated union: fails to compile when a case is missing. */
export function unreachable(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
