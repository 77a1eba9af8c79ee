/** given(events) / when(command) / then(events or error code), in the style of Emmett's DeciderSpecification. */
import { Command, Decider, DomainEvent, fold } from '../../src/shared/domain/decider';
import { DomainError, DomainErrorCode } from '../../src/shared/domain/errors';

export function specFor<C extends Command, E extends DomainEvent, S>(decider: Decider<C, E, S>) {
  return (...given: E[]) => ({
    when: (command: C) => {
      const run = () => decider.decide(command, fold(decider, decider.initialState, given));
      return {
        then: (expected: readonly E[]) => expect(run()).toEqual(expected),
        thenNothingHappens: () => expect(run()).toEqual([]),
        thenFails: (code: DomainErrorCode) => expectRefusal(run, code),
      };
    },
  });
}

/**
 * The same form for a pure decision over several aggregates: given what each aggregate has
 * recorded (folded into the decision's world by `world`), when this input, then these effects.
 */
export function decisionSpec<G, W, I, R>(world: (given: G) => W, decide: (input: I, world: W) => R) {
  return (given: G) => ({
    when: (input: I) => {
      const run = () => decide(input, world(given));
      return {
        then: (expected: R) => expect(run()).toEqual(expected),
        thenFails: (code: DomainErrorCode) => expectRefusal(run, code),
      };
    },
  });
}

function expectRefusal(run: () => unknown, code: DomainErrorCode): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DomainError);
  expect((thrown as DomainError).code).toBe(code);
}
