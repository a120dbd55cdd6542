import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../runtime/local-env.ts";
import { chartConfiguration, CHART_CONFIGURATION_PATH } from "./chart-configuration.ts";
import { VARIABLE_NAMES } from "./env.ts";

interface ChartConfiguration {
  settings: Record<string, string>;
  secrets: string[];
  setByTheChart: string[];
}

const generated = () => parse(chartConfiguration()) as ChartConfiguration;

test(`${CHART_CONFIGURATION_PATH} is the one generated from the table (run \`npm run docs:config\` after changing it)`, () => {
  const committed = readFileSync(path.join(REPO_ROOT, CHART_CONFIGURATION_PATH), "utf8");
  assert.equal(
    committed,
    chartConfiguration(),
    `${CHART_CONFIGURATION_PATH} is stale: run \`npm run docs:config\``,
  );
});

test("the chart's settings are every variable with a default, as the operator would write it, and no secret", () => {
  const { settings } = generated();
  assert.equal(settings.RECKON_TRAIN_INTERVAL_MINUTES, "60");
  assert.equal(settings.RECKON_CONSUMED_TYPES, "view,click,add_to_cart,purchase,rating");
  assert.equal(settings.CLICKHOUSE_HTTP_ALLOWED_ORIGINS, "");
  for (const name of ["DATABASE_URL", "KAFKA_BROKERS", "REDIS_URL", "CLICKHOUSE_URL", "RECKON_READ_KEYS"])
    assert.equal(name in settings, false, name);
});

test("an optional variable stays out of the settings (its absence means something), named in a comment", () => {
  assert.equal("LOG_LEVEL" in generated().settings, false);
  assert.match(chartConfiguration(), /^ {2}# LOG_LEVEL: "" \(unset unless set in values\.yaml `config`\)$/m);
});

test("each setting carries its type, readers and description as comments above it", () => {
  assert.match(
    chartConfiguration(),
    /^ {2}# RECKON_TRAIN_INTERVAL_MINUTES \(number ≥ 0; read by serving\): Minutes between periodic retrains[^]*?\n {2}RECKON_TRAIN_INTERVAL_MINUTES: "60"$/m,
  );
});

test("store URLs and secrets are listed for the Secrets, the chart's own variables apart", () => {
  const { secrets, setByTheChart } = generated();
  assert.deepEqual(secrets, [
    "DATABASE_URL",
    "KAFKA_BROKERS",
    "REDIS_URL",
    "CLICKHOUSE_URL",
    "CLICKHOUSE_HTTP_PASSWORD",
    "RECKON_WRITE_KEYS",
    "RECKON_READ_KEYS",
    "RECKON_ADMIN_KEYS",
  ]);
  assert.deepEqual(setByTheChart, [
    "PORT",
    "KAFKA_PARTITIONS",
    "RECKON_PROJECTIONS",
    "RECKON_WORKER_INDEX",
    "NODE_ENV",
  ]);
});

test("every variable has exactly one place: a setting, a Secret, the chart itself, or an unset optional", () => {
  const { settings, secrets, setByTheChart } = generated();
  // Unset optionals: LOG_LEVEL, RECKON_DATA_DIR (the chart runs every store as a server, none embedded), and
  // RECKON_FIXED_CLOCK (the image's NODE_ENV=production refuses it).
  const placed = [
    ...Object.keys(settings),
    ...secrets,
    ...setByTheChart,
    "LOG_LEVEL",
    "RECKON_DATA_DIR",
    "RECKON_FIXED_CLOCK",
  ];
  assert.equal(new Set(placed).size, placed.length);
  assert.deepEqual([...placed].sort(), [...VARIABLE_NAMES].sort());
});
