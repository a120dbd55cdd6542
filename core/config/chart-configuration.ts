import type { Variable } from "./variable.ts";
import { VARIABLES, type VariableName } from "./variables.ts";
import { VARIABLE_NAMES } from "./env.ts";

/** Where the Helm chart's generated configuration is committed (`npm run docs:config` writes it). */
export const CHART_CONFIGURATION_PATH = "deploy/helm/reckon/files/configuration.yaml";

/** The store connections: the chart takes them from its stores Secret (they carry passwords). */
const STORE_VARIABLES: readonly VariableName[] = [
  "DATABASE_URL",
  "KAFKA_BROKERS",
  "REDIS_URL",
  "CLICKHOUSE_URL",
];

/** Variables the chart or the image sets itself, each with where from; the ConfigMap must not override them. */
export const SET_BY_THE_CHART: Partial<Record<VariableName, string>> = {
  KAFKA_PARTITIONS: "the value kafka.partitions",
  RECKON_PROJECTIONS: "each projectors Deployment (one per projection)",
  PORT: "the container port the probes and Services use (8080)",
  RECKON_WORKER_INDEX: "`reckon start --workers`",
  NODE_ENV: "the image (production)",
};

export type ChartPlace = "secret" | "chart" | "setting";

/** Where a variable's value comes from in the chart: a Secret, the chart itself, or the ConfigMap. */
export function chartPlace(name: VariableName): ChartPlace {
  const variable: Variable<unknown> = VARIABLES[name];
  if (variable.secret !== undefined || STORE_VARIABLES.includes(name)) return "secret";
  if (name in SET_BY_THE_CHART) return "chart";
  return "setting";
}

const namesIn = (place: ChartPlace) => VARIABLE_NAMES.filter((name) => chartPlace(name) === place);

// Comments are wrapped so the file reads well in an editor; YAML comments need no escaping.
function commentLines(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line.length > 0 && line.length + 1 + word.length > width - 4) {
      lines.push(line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) lines.push(line);
  return lines.map((l) => `  # ${l}`);
}

function settingEntry(name: VariableName): string[] {
  const variable: Variable<unknown> = VARIABLES[name];
  const heading = `${name} (${variable.type}; read by ${variable.readers.join(", ")})`;
  const comments = commentLines(`${heading}: ${variable.description}`);
  // An optional variable's absence means something of its own, so it stays out of the ConfigMap unless set.
  const entry =
    variable.presence === "optional"
      ? `  # ${name}: "" (unset unless set in values.yaml \`config\`)`
      : `  ${name}: ${JSON.stringify(variable.default ?? "")}`;
  return [...comments, entry];
}

/**
 * The chart's configuration file (deploy/helm/reckon/files/configuration.yaml), generated from the table of
 * variables: `settings` holds every variable the ConfigMap carries, with its default (values.yaml `config`
 * overrides any of them); `secrets` and `setByTheChart` name the variables the ConfigMap never carries, which
 * templates/configmap.yaml refuses in `config`.
 */
export function chartConfiguration(): string {
  const settings = namesIn("setting").flatMap(settingEntry);
  const secrets = namesIn("secret").map((name) => `  - ${name}`);
  const chart = namesIn("chart").flatMap((name) => [`  # from ${SET_BY_THE_CHART[name]}`, `  - ${name}`]);
  return `# Generated from core/config/variables.ts by \`npm run docs:config\`; edit the table there, not this file.
# templates/configmap.yaml renders \`settings\` into the ConfigMap every role reads, each value overridden by
# the same name in values.yaml \`config\`. See docs/reference/configuration.md.

settings:
${settings.join("\n")}

# Store URLs and secrets: in the chart's Secrets (stores, apiKeys), never in the ConfigMap.
secrets:
${secrets.join("\n")}

# Set by the chart or the image; values.yaml \`config\` may not override them.
setByTheChart:
${chart.join("\n")}
`;
}
