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
        thenFails: (code: DomainErrorCode) => {
          let thrown: unknown;
          try {
            run();
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(DomainError);
          expect((thrown as DomainError).code).toBe(code);
        },
      };
    },
  });
}
