import { effectiveConfiguration, formatEffectiveConfiguration } from "./effective.ts";
import { configurationReference } from "./reference.ts";
import type { LayeredEnv } from "./sources.ts";

export interface ConfigCommandOptions {
  json?: boolean;
  markdown?: boolean;
}

/**
 * `reckon config`: the configuration in force with each value's source, secrets redacted (`--json` as JSON), or
 * the reference of every variable (`--markdown`). Exit status 1 when start-up would refuse the configuration.
 */
export function configCommand(
  layered: LayeredEnv,
  opts: ConfigCommandOptions,
): { output: string; exitCode: number } {
  if (opts.markdown) return { output: configurationReference(), exitCode: 0 };
  const config = effectiveConfiguration(layered);
  const exitCode = config.problems.length > 0 ? 1 : 0;
  if (opts.json) return { output: `${JSON.stringify(config, null, 2)}\n`, exitCode };
  return { output: formatEffectiveConfiguration(config), exitCode };
}
