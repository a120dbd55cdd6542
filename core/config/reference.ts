import type { Variable } from "./variable.ts";
import { VARIABLES } from "./variables.ts";
import { VARIABLE_NAMES } from "./env.ts";

/** Where the generated reference is committed (`npm run docs:config` writes it). */
export const REFERENCE_PATH = "docs/reference/configuration.md";

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function defaultCell(variable: Variable<unknown>): string {
  if (variable.presence === "required") return "required";
  if (variable.presence === "optional") return "unset";
  return variable.default === "" ? "empty" : `\`${variable.default}\``;
}

const SECRECY: Record<string, string> = { value: "yes", "url-password": "password part" };

/** The configuration reference page, generated from the table of variables (core/config/variables.ts). */
export function configurationReference(): string {
  const rows = VARIABLE_NAMES.map((name) => {
    const variable: Variable<unknown> = VARIABLES[name];
    return `| \`${name}\` | ${cell(variable.type)} | ${defaultCell(variable)} | ${SECRECY[variable.secret ?? ""] ?? "no"} | ${variable.readers.join(", ")} | ${cell(variable.description)} |`;
  });
  return `<!-- Generated from core/config/variables.ts by \`npm run docs:config\`; edit the table there, not this file. -->

# Configuration reference

Reckon is configured by environment variables. Every process parses all of them once, at start, and reports
every bad one at once (the variable, what was expected, what was received; secrets are never shown). An empty
value counts as unset.

With no store configured (\`DATABASE_URL\`, \`KAFKA_BROKERS\`, \`REDIS_URL\` all unset), \`reckon start\` brings the
local stack up and takes the connection settings from \`.reckon/stack.env\`; with no API key configured, it
generates keys into \`.reckon/keys.env\`. A variable set in the environment always wins over those files.

\`reckon config\` prints the configuration in force, each value with its source (\`env\`, \`.reckon/stack.env\`,
\`.reckon/keys.env\` or \`default\`), secrets redacted, and notes a \`.reckon\` file \`reckon start\` would still write;
\`--json\` prints it as JSON. It exits with status 1, listing every problem, when start-up would refuse the
configuration.

"Read by" names the roles of \`reckon start\` (\`ingest\`, \`relay\`, \`projectors\`, \`serving\`, \`analytics\`) and
the commands that use a variable. "Secret": \`yes\` is never shown; \`password part\` is a URL shown without its
password.

| Variable | Type | Default | Secret | Read by | Description |
| --- | --- | --- | --- | --- | --- |
${rows.join("\n")}

Benchmarks (\`bench/\`, \`loadtests/\`) and tests (\`*.spec.ts\`, \`core/testing/\`, \`testing.ts\` helpers) read
variables of their own, which are not configuration of the product and are not listed here;
\`core/config/env-reads.unit.spec.ts\` holds that rule and fails when any other file reads the environment
outside \`core/config/\`, or reads a variable missing from this table.
`;
}
