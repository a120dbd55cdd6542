import { ConfigError, loadEnv, redact, VARIABLE_NAMES } from "./env.ts";
import { sourceOf, type LayeredEnv, type Source } from "./sources.ts";
import type { Variable } from "./variable.ts";
import { VARIABLES, type VariableName } from "./variables.ts";

export interface EffectiveVariable {
  name: VariableName;
  /** The raw value in force (a default as written in the table), secrets redacted; null when unset. */
  value: string | null;
  source: Source;
}

export interface EffectiveConfiguration {
  variables: EffectiveVariable[];
  /** What start-up would refuse, every problem at once (empty when it would start). */
  problems: string[];
  /** What `reckon start` would set up first (see LayeredEnv.notes). */
  notes: string[];
}

/** Every variable's value in force and where it comes from, as `reckon config` prints it. */
export function effectiveConfiguration(layered: LayeredEnv): EffectiveConfiguration {
  const variables = VARIABLE_NAMES.map((name): EffectiveVariable => {
    const variable: Variable<unknown> = VARIABLES[name];
    const set = layered.values[name];
    const raw = set !== undefined && set !== "" ? set : variable.default;
    return {
      name,
      value: raw === undefined ? null : redact(variable.secret, raw),
      source: sourceOf(layered, name),
    };
  });
  let problems: string[] = [];
  try {
    loadEnv(layered.values);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.problems;
  }
  return { variables, problems, notes: layered.notes };
}

/** Aligned columns: NAME VALUE SOURCE. */
export function formatEffectiveConfiguration(config: EffectiveConfiguration): string {
  const rows = [
    ["NAME", "VALUE", "SOURCE"],
    ...config.variables.map((v) => [v.name, v.value === null ? "(unset)" : v.value || "(empty)", v.source]),
  ];
  const widths = [0, 1].map((col) => Math.max(...rows.map((r) => r[col]!.length)));
  const lines = rows.map(([name, value, source]) =>
    `${name!.padEnd(widths[0]!)}  ${value!.padEnd(widths[1]!)}  ${source}`.trimEnd(),
  );
  for (const note of config.notes) lines.push("", `note: ${note}`);
  if (config.problems.length > 0) lines.push("", new ConfigError(config.problems).message);
  return `${lines.join("\n")}\n`;
}
