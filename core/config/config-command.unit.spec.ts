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

describe("configuration sources", () => {
  it("completes an unconfigured environment from the .reckon files, the environment winning", () => {
    const layered = layerSources({ PORT: "9000", RECKON_REDIS_PREFIX: "" }, files);
    assert.deepEqual(
      ["DATABASE_URL", "RECKON_WRITE_KEYS", "PORT", "RECKON_REDIS_PREFIX", "HOST"].map((n) =>
        sourceOf(layered, n),
      ),
      [".reckon/stack.env", ".reckon/keys.env", "env", "default", "default"],
    );
  });

  it("takes nothing from a file once the environment configures any store, or any key", () => {
    const layered = layerSources(
      { REDIS_URL: "redis://10.0.0.5:6379", RECKON_ADMIN_KEYS: "admin-key-0123456789" },
      files,
    );
    assert.deepEqual(
      ["DATABASE_URL", "REDIS_URL", "RECKON_WRITE_KEYS", "RECKON_ADMIN_KEYS"].map((n) => [
        layered.values[n],
        sourceOf(layered, n),
      ]),
      [
        [undefined, "default"],
        ["redis://10.0.0.5:6379", "env"],
        [undefined, "default"],
        ["admin-key-0123456789", "env"],
      ],
    );
  });
});

describe("reckon config", () => {
  it("shows each value in force with its source, secrets redacted", () => {
    const config = effectiveConfiguration(layerSources({ RECKON_USER_TTL_DAYS: "7" }, files));
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
    const config = effectiveConfiguration(layerSources({}, { stack: {}, keys: {} }));
    assert.deepEqual(config.notes, [
      "no store configured and no .reckon/stack.env yet: `reckon start` brings the local stack up and writes it",
      "no API key configured and no .reckon/keys.env yet: `reckon start` generates local keys into it",
    ]);
    assert.deepEqual(config.problems, [
      "DATABASE_URL is required: Invalid input: expected string, received undefined",
      "KAFKA_BROKERS is required: Invalid input: expected string, received undefined",
    ]);
    assert.deepEqual(
      effectiveConfiguration(layerSources({ DATABASE_URL: "postgres://h/db" }, files)).notes,
      [],
    );
  });

  it("prints a table, and every problem with exit status 1 when start-up would refuse", () => {
    const good = configCommand(layerSources({}, files), {});
    assert.equal(good.exitCode, 0);
    const lines = good.output.split("\n");
    assert.match(lines[0]!, /^NAME +VALUE +SOURCE$/);
    assert.ok(
      lines.includes(`KAFKA_BROKERS${" ".repeat(28)}127.0.0.1:9092${" ".repeat(31)}.reckon/stack.env`),
    );
    assert.ok(!good.output.includes("rk_write_0123456789abcdef"), "no key is printed");
    assert.ok(!good.output.includes("reckon:reckon@"), "no password is printed");

    const bad = configCommand(layerSources({ DATABASE_URL: "postgres://u:pw@h/db", PORT: "http" }, files), {
      json: true,
    });
    assert.equal(bad.exitCode, 1);
    const json = JSON.parse(bad.output) as { problems: string[] };
    assert.deepEqual(json.problems, [
      "KAFKA_BROKERS is required: Invalid input: expected string, received undefined",
      'PORT: Invalid input: expected number, received NaN (received "http")',
    ]);
  });

  it("--markdown prints the generated reference", () => {
    const { output, exitCode } = configCommand(layerSources({}, files), { markdown: true });
    assert.equal(exitCode, 0);
    assert.match(output, /^<!-- Generated from core\/config\/variables.ts/);
    assert.match(
      output,
      /\n\| `RECKON_PROJECTOR_GROUP_PREFIX` \| string \| `reckon\.projector\.` \| no \| projectors, serving \|/,
    );
  });
});
