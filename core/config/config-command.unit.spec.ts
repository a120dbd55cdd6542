import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { configCommand } from "./command.ts";
import { effectiveConfiguration } from "./effective.ts";
import { layerSources, sourceOf } from "./sources.ts";

const files = {
  stack: {
    DATABASE_URL: "postgres://reckon:reckon@127.0.0.1:5432/reckon",
    KAFKA_BROKERS: "127.0.0.1:9092",
    REDIS_URL: "redis://127.0.0.1:6379",
  },
  keys: { RECKON_WRITE_KEYS: "rk_write_0123456789abcdef", RECKON_READ_KEYS: "rk_read_0123456789abcdef" },
};

const DATA_DIR = "/srv/reckon-data";
const STACK = { RECKON_LOCAL_STACK: "1" };

describe("configuration sources", () => {
  it("completes an unconfigured environment from the .reckon files, the environment winning", () => {
    const layered = layerSources({ ...STACK, PORT: "9000", RECKON_REDIS_PREFIX: "" }, files, DATA_DIR);
    assert.deepEqual(
      ["DATABASE_URL", "RECKON_WRITE_KEYS", "PORT", "RECKON_REDIS_PREFIX", "HOST"].map((n) =>
        sourceOf(layered, n),
      ),
      [".reckon/stack.env", ".reckon/keys.env", "env", "default", "default"],
    );
  });

  it("takes nothing from a file once the environment configures any store, or any key: unset stores are embedded", () => {
    const layered = layerSources(
      { ...STACK, REDIS_URL: "redis://10.0.0.5:6379", RECKON_ADMIN_KEYS: "admin-key-0123456789" },
      files,
      DATA_DIR,
    );
    assert.deepEqual(
      ["DATABASE_URL", "REDIS_URL", "RECKON_WRITE_KEYS", "RECKON_ADMIN_KEYS"].map((n) => [
        layered.values[n],
        sourceOf(layered, n),
      ]),
      [
        ["pglite:///srv/reckon-data/postgres", "embedded"],
        ["redis://10.0.0.5:6379", "env"],
        [undefined, "default"],
        ["admin-key-0123456789", "env"],
      ],
    );
  });
});

describe("reckon config", () => {
  it("shows each value in force with its source, secrets redacted", () => {
    const config = effectiveConfiguration(
      layerSources({ ...STACK, RECKON_USER_TTL_DAYS: "7" }, files, DATA_DIR),
    );
    const shown = (name: string) => config.variables.find((v) => v.name === name);
    assert.deepEqual(
      [
        "DATABASE_URL",
        "RECKON_WRITE_KEYS",
        "RECKON_ADMIN_KEYS",
        "RECKON_USER_TTL_DAYS",
        "PORT",
        "CLICKHOUSE_URL",
      ].map(shown),
      [
        {
          name: "DATABASE_URL",
          value: "postgres://reckon:***@127.0.0.1:5432/reckon",
          source: ".reckon/stack.env",
        },
        { name: "RECKON_WRITE_KEYS", value: "<redacted>", source: ".reckon/keys.env" },
        { name: "RECKON_ADMIN_KEYS", value: "", source: "default" },
        { name: "RECKON_USER_TTL_DAYS", value: "7", source: "env" },
        { name: "PORT", value: "8080", source: "default" },
        { name: "CLICKHOUSE_URL", value: null, source: "default" },
      ],
    );
    assert.deepEqual(config.problems, []);
    assert.deepEqual(config.notes, []);
  });

  it("notes what `reckon start` would set up first when the .reckon files are still to come", () => {
    const config = effectiveConfiguration(layerSources(STACK, { stack: {}, keys: {} }, DATA_DIR));
    assert.deepEqual(config.notes, [
      "RECKON_LOCAL_STACK=1 and no .reckon/stack.env yet: `reckon start` brings the local stack up and writes it",
      "no API key configured and none in .reckon/keys.env yet: `reckon start` generates local keys into it",
    ]);
    assert.deepEqual(config.problems, [
      "DATABASE_URL is required: Invalid input: expected string, received undefined",
    ]);
    assert.deepEqual(
      effectiveConfiguration(layerSources({ DATABASE_URL: "postgres://h/db" }, files, DATA_DIR)).notes,
      [],
    );
  });

  it("with nothing configured, runs every store embedded under the data directory", () => {
    const layered = layerSources({}, { stack: files.stack, keys: files.keys }, DATA_DIR);
    assert.deepEqual(
      ["DATABASE_URL", "REDIS_URL", "CLICKHOUSE_URL", "KAFKA_BROKERS"].map((n) => [
        layered.values[n],
        sourceOf(layered, n),
      ]),
      [
        ["pglite:///srv/reckon-data/postgres", "embedded"],
        ["memory:///srv/reckon-data/projections", "embedded"],
        ["chdb:///srv/reckon-data/clickhouse", "embedded"],
        [undefined, "default"],
      ],
    );
    assert.deepEqual(effectiveConfiguration(layered).problems, []);
    const moved = layerSources({ RECKON_DATA_DIR: "/var/lib/reckon" }, files, DATA_DIR);
    assert.equal(moved.values.DATABASE_URL, "pglite:///var/lib/reckon/postgres");
  });

  it("switches each store that has a URL to its server, the others staying embedded", () => {
    const layered = layerSources(
      { DATABASE_URL: "postgres://h/db", CLICKHOUSE_URL: "http://ch:8123" },
      files,
      DATA_DIR,
    );
    assert.deepEqual(
      ["DATABASE_URL", "REDIS_URL", "CLICKHOUSE_URL"].map((n) => layered.values[n]),
      ["postgres://h/db", "memory:///srv/reckon-data/projections", "http://ch:8123"],
    );
    // Beside a Postgres server an unset CLICKHOUSE_URL keeps chdb's own default directory.
    assert.equal(
      layerSources({ DATABASE_URL: "postgres://h/db" }, files, DATA_DIR).values.CLICKHOUSE_URL,
      undefined,
    );
  });

  it("prints a table, and every problem with exit status 1 when start-up would refuse", () => {
    const good = configCommand(layerSources(STACK, files, DATA_DIR), {});
    assert.equal(good.exitCode, 0);
    const lines = good.output.split("\n");
    assert.match(lines[0]!, /^NAME +VALUE +SOURCE$/);
    assert.ok(
      lines.includes(`KAFKA_BROKERS${" ".repeat(28)}127.0.0.1:9092${" ".repeat(31)}.reckon/stack.env`),
    );
    assert.ok(!good.output.includes("rk_write_0123456789abcdef"), "no key is printed");
    assert.ok(!good.output.includes("reckon:reckon@"), "no password is printed");

    const bad = configCommand(
      layerSources({ DATABASE_URL: "postgres://u:pw@h/db", PORT: "http" }, files, DATA_DIR),
      {
        json: true,
      },
    );
    assert.equal(bad.exitCode, 1);
    const json = JSON.parse(bad.output) as { problems: string[] };
    assert.deepEqual(json.problems, ['PORT: Invalid input: expected number, received NaN (received "http")']);
  });

  it("--markdown prints the generated reference", () => {
    const { output, exitCode } = configCommand(layerSources({}, files, DATA_DIR), { markdown: true });
    assert.equal(exitCode, 0);
    assert.match(output, /^<!-- Generated from core\/config\/variables.ts/);
    assert.match(
      output,
      /\n\| `RECKON_PROJECTOR_GROUP_PREFIX` \| string \| `reckon\.projector\.` \| no \| projectors, serving \|/,
    );
  });
});
