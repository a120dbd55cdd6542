import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, defaultsOf, loadEnv, redact, VARIABLE_NAMES } from "./env.ts";
import { logLevel } from "./log-level.ts";
import type { Variable } from "./variable.ts";
import { VARIABLES, type VariableName } from "./variables.ts";

const stores = {
  DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
  KAFKA_BROKERS: "127.0.0.1:9092",
};

const problemsOf = (source: Record<string, string>): string[] => {
  try {
    loadEnv(source);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe("the table of variables", () => {
  it("gives every variable a type, a description and its readers; a default only where it has one", () => {
    for (const name of VARIABLE_NAMES) {
      const v: Variable<unknown> = VARIABLES[name];
      assert.ok(v.type.length > 0, name);
      assert.ok(v.description.length > 20, name);
      assert.ok(v.readers.length > 0, name);
      assert.equal(v.default !== undefined, v.presence === "default", name);
    }
  });

  it("marks API keys secret and URLs' passwords hidden", () => {
    const secrecy = (suffix: string) =>
      VARIABLE_NAMES.filter((n) => n.endsWith(suffix)).map((n) => [n, VARIABLES[n].secret ?? "none"]);
    assert.deepEqual(secrecy("_KEYS"), [
      ["RECKON_WRITE_KEYS", "value"],
      ["RECKON_READ_KEYS", "value"],
      ["RECKON_ADMIN_KEYS", "value"],
    ]);
    assert.deepEqual(secrecy("_URL"), [
      ["DATABASE_URL", "url-password"],
      ["REDIS_URL", "url-password"],
      ["CLICKHOUSE_URL", "url-password"],
    ]);
  });

  it("parses every default (written as an operator would) to the typed value the code used to hard-code", () => {
    const names = VARIABLE_NAMES.filter((n) => VARIABLES[n].presence !== "required") as Exclude<
      VariableName,
      "DATABASE_URL" | "KAFKA_BROKERS"
    >[];
    const d = defaultsOf(names);
    assert.deepEqual(
      {
        ttl: d.RECKON_USER_TTL_DAYS,
        isolate: d.RECKON_PROJECTOR_ISOLATE_AFTER,
        poll: d.RECKON_MODEL_POLL_MS,
        retrain: d.RECKON_TRAIN_INTERVAL_MINUTES,
        prefix: d.RECKON_REDIS_PREFIX,
        groups: d.RECKON_PROJECTOR_GROUP_PREFIX,
        workers: d.RECKON_WORKERS,
        worker: d.RECKON_WORKER_INDEX,
        fast: d.RECKON_HTTP_FAST_PATH,
        consumed: d.RECKON_CONSUMED_TYPES,
        budget: d.RECKON_REDIS_SCRIPT_BUDGET_MS,
        keys: d.RECKON_WRITE_KEYS,
        redis: d.REDIS_URL,
        log: d.LOG_LEVEL,
      },
      {
        ttl: 30,
        isolate: 3,
        poll: 2000,
        retrain: 60,
        prefix: "rk",
        groups: "reckon.projector.",
        workers: 1,
        worker: 0,
        fast: true,
        consumed: ["view", "click", "add_to_cart", "purchase", "rating"],
        budget: 0,
        keys: [],
        redis: undefined,
        log: undefined,
      },
    );
  });

  it("parses set values once, to their types", () => {
    const env = loadEnv({
      ...stores,
      RECKON_USER_TTL_DAYS: "7.5",
      RECKON_PROJECTOR_ISOLATE_AFTER: "5",
      RECKON_MODEL_POLL_MS: "250",
      RECKON_TRAIN_INTERVAL_MINUTES: "0",
      RECKON_HTTP_FAST_PATH: "0",
      RECKON_CONSUMED_TYPES: " purchase , rating ",
      RECKON_PROJECTIONS: "features,analytics",
      LOG_LEVEL: "debug",
      RECKON_REDIS_PREFIX: "",
    });
    assert.deepEqual(
      [
        env.RECKON_USER_TTL_DAYS,
        env.RECKON_PROJECTOR_ISOLATE_AFTER,
        env.RECKON_MODEL_POLL_MS,
        env.RECKON_TRAIN_INTERVAL_MINUTES,
        env.RECKON_HTTP_FAST_PATH,
        env.RECKON_CONSUMED_TYPES,
        env.RECKON_PROJECTIONS,
        env.LOG_LEVEL,
        env.RECKON_REDIS_PREFIX,
      ],
      [7.5, 5, 250, 0, false, ["purchase", "rating"], ["features", "analytics"], "debug", "rk"],
    );
  });

  it("reports every bad variable at once, of every kind, with what was expected and received, secrets hidden", () => {
    assert.deepEqual(
      problemsOf({
        DATABASE_URL: "mysql://admin:hunter2@db:3306/reckon",
        KAFKA_BROKERS: "127.0.0.1:9092",
        RECKON_WRITE_KEYS: "write-key-0123456789,short",
        RECKON_PROJECTOR_ISOLATE_AFTER: "0",
        RECKON_REDIS_SCRIPT_BUDGET_MS: "-1",
        RECKON_USER_TTL_DAYS: "forever",
        RECKON_SERVING_USER_LISTS: "-1",
        RECKON_HTTP_FAST_PATH: "yes",
        RECKON_MODEL_POLL_MS: "2.5",
        RECKON_WORKERS: "many",
        LOG_LEVEL: "loud",
      }),
      [
        'DATABASE_URL: must start with postgres:// or postgresql:// or pglite:// (received "mysql://admin:***@db:3306/reckon")',
        'RECKON_WRITE_KEYS: each API key must be at least 16 characters (received "<redacted>")',
        'RECKON_PROJECTOR_ISOLATE_AFTER: must be a whole number ≥ 1 (received "0")',
        'RECKON_REDIS_SCRIPT_BUDGET_MS: must be a number of milliseconds ≥ 0 (received "-1")',
        'RECKON_USER_TTL_DAYS: must be a positive number (received "forever")',
        'RECKON_SERVING_USER_LISTS: must be a number ≥ 0 (received "-1")',
        'RECKON_HTTP_FAST_PATH: must be 1, 0, true or false (received "yes")',
        'RECKON_MODEL_POLL_MS: must be a whole number ≥ 1 (received "2.5")',
        'RECKON_WORKERS: must be a whole number ≥ 1 (received "many")',
        'LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent" (received "loud")',
      ],
    );
  });
});

describe("redaction", () => {
  it("hides a secret whole and a URL's password only", () => {
    assert.equal(redact("value", "rk_write_abcdefghijklmnop"), "<redacted>");
    assert.equal(redact("value", ""), "");
    assert.equal(
      redact("url-password", "postgres://reckon:s3cr3t@127.0.0.1:5432/reckon"),
      "postgres://reckon:***@127.0.0.1:5432/reckon",
    );
    assert.equal(
      redact("url-password", "redis-cluster://:pw@10.0.0.1:7001,10.0.0.2:7001"),
      "redis-cluster://:***@10.0.0.1:7001,10.0.0.2:7001",
    );
    assert.equal(redact("url-password", "redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
    assert.equal(redact("url-password", "postgres://u:pa/ss@wo@rd@db:5432/x"), "postgres://u:***@db:5432/x");
    assert.equal(redact("url-password", "https://user@ch.example:8443"), "https://user@ch.example:8443");
    assert.equal(redact(undefined, "0.0.0.0"), "0.0.0.0");
  });
});

describe("log level", () => {
  it("is LOG_LEVEL, else warn under NODE_ENV=test and info otherwise; a bad one falls back (loadEnv reports it)", () => {
    assert.equal(logLevel({}), "info");
    assert.equal(logLevel({ NODE_ENV: "test" }), "warn");
    assert.equal(logLevel({ NODE_ENV: "test", LOG_LEVEL: "debug" }), "debug");
    assert.equal(logLevel({ LOG_LEVEL: "loud" }), "info");
  });
});
