// Given/when/then for any decider (after Emmett's DeciderSpecification): given past events, when a
// command is decided, then expect new events or a typed error. Tests read like the domain.
import assert from "node:assert/strict";

export interface Decider<Command, Event, State, Context> {
  readonly decide: (command: Command, state: State, context: Context) => Event[];
  readonly evolve: (state: State, event: Event) => State;
  readonly initialState: () => State;
}

export interface ThenStep<Event, State> {
  /** The command produced exactly these events, in order. */
  then(expected: readonly Event[]): void;
  /** The command was refused; `check` returns true (or asserts) for the expected error. */
  thenThrows<E extends Error>(
    errorClass: new (...args: never[]) => E,
    check?: (error: E) => boolean | void,
  ): E;
  /** The state after applying the produced events, for assertions the event list does not show. */
  thenState(check: (state: State) => void): void;
}

export const DeciderSpecification = {
  for<Command, Event, State, Context>(
    decider: Decider<Command, Event, State, Context>,
    defaultContext: Context,
  ) {
    return (given: readonly Event[] = []) => ({
      when(command: Command, context: Context = defaultContext): ThenStep<Event, State> {
        const state = given.reduce(decider.evolve, decider.initialState());
        const run = () => decider.decide(command, state, context);
        return {
          then(expected) {
            assert.deepStrictEqual(run(), expected);
          },
          thenThrows(errorClass, check) {
            let caught: unknown;
            try {
              const events = run();
              assert.fail(`expected ${errorClass.name}, but the command produced ${JSON.stringify(events)}`);
            } catch (e) {
              if (e instanceof assert.AssertionError) throw e;
              caught = e;
            }
            assert.ok(caught instanceof errorClass, `expected ${errorClass.name}, got ${String(caught)}`);
            if (check) assert.notEqual(check(caught), false, `error did not match: ${caught.message}`);
            return caught;
          },
          thenState(check) {
            check(run().reduce(decider.evolve, state));
          },
        };
      },
    });
  },
};
