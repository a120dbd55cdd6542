import { z } from "zod";
import type { Secrecy, Variable } from "./variable.ts";
import { VARIABLES, type VariableName } from "./variables.ts";

/**
 * Parsing the environment against the one table of variables (variables.ts), once, at start. A bad value stops
 * start-up with a message per bad variable, all at once, naming the variable, the expectation and what was
 * received (secrets redacted).
 */
type ValueOf<V> = V extends Variable<infer T> ? T : never;

/** The typed configuration every role and command receives. */
export type Env = { [K in VariableName]: ValueOf<(typeof VARIABLES)[K]> };

/** Raw values as the environment holds them (process.env, a .reckon file, a test's literal). */
export type RawEnv = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

export const VARIABLE_NAMES = Object.keys(VARIABLES) as VariableName[];

/** Parses every variable; throws ConfigError listing every bad variable at once. */
export function loadEnv(source: RawEnv = process.env): Env {
  return loadVariables(VARIABLE_NAMES, source) as Env;
}

/**
 * Parses only `names` (for a module's own tunables, e.g. in tests: `servingConfigFromEnv({})`). Empty values
 * count as unset; an unset variable takes its default, written as an operator would set it and parsed alike.
 */
export function loadVariables<K extends VariableName>(names: readonly K[], source: RawEnv): Pick<Env, K> {
  const input: Record<string, string> = {};
  for (const name of names) {
    const value = nonEmpty(source[name]) ?? (VARIABLES[name] as Variable<unknown>).default;
    if (value !== undefined) input[name] = value;
  }
  const schema = z.object(
    Object.fromEntries(names.map((n) => [n, (VARIABLES[n] as Variable<unknown>).schema])),
  );
  const parsed = schema.safeParse(input, { reportInput: true });
  if (parsed.success) return parsed.data as Pick<Env, K>;
  const problems = parsed.error.issues.map((issue) => {
    // The variable, not the array index inside it: the message names what the operator sets.
    const name = String(issue.path[0]) as VariableName;
    const received = input[name];
    return received === undefined
      ? `${name} is required: ${issue.message}`
      : `${name}: ${issue.message} (received ${JSON.stringify(redact(VARIABLES[name].secret, received))})`;
  });
  throw new ConfigError([...new Set(problems)]);
}

/** The defaults of `names` (none of them may be required). */
export const defaultsOf = <K extends VariableName>(names: readonly K[]): Pick<Env, K> =>
  loadVariables(names, {});

const nonEmpty = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);

/** What may be shown of a value: all of it, none (`<redacted>`), or a URL without its password. */
export function redact(secrecy: Secrecy | undefined, value: string): string {
  if (secrecy === "value") return value === "" ? "" : "<redacted>";
  // Done on the text, not through URL: redis-cluster:// lists are not WHATWG URLs, and a bad URL must still hide.
  // Up to the last "@": a password with an unencoded "/" or "@" is hidden whole (over-hiding is the safe side).
  if (secrecy === "url-password") return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, "$1***@");
  return value;
}
