// `npm run docs:config`: writes the configuration reference and the Helm chart's configuration file, both
// generated from core/config/variables.ts.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { configurationReference, REFERENCE_PATH } from "../core/config/reference.ts";
import { chartConfiguration, CHART_CONFIGURATION_PATH } from "../core/config/chart-configuration.ts";
import { REPO_ROOT } from "../core/runtime/local-env.ts";

writeFileSync(path.join(REPO_ROOT, REFERENCE_PATH), configurationReference());
console.log(`wrote ${REFERENCE_PATH}`);
writeFileSync(path.join(REPO_ROOT, CHART_CONFIGURATION_PATH), chartConfiguration());
console.log(`wrote ${CHART_CONFIGURATION_PATH}`);
