import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadEnv } from "./env.ts";

const good = {
  DATABASE_URL: "postgres://u:p@127.0.0.1:5432/db",
  KAFKA_BROKERS: "127.0.0.1:9092, 127.0.0.2:9092",
  RECKON_WRITE_KEYS: "write-key-0123456789,write-key-abcdefghij",
};

test("valid settings parse with defaults", () => {
  const env = loadEnv(good);
  assert.deepEqual(env.KAFKA_BROKERS, ["127.0.0.1:9092", "127.0.0.2:9092"]);
  assert.deepEqual(env.RECKON_WRITE_KEYS, ["write-key-0123456789", "write-key-abcdefghij"]);
  assert.deepEqual(env.RECKON_READ_KEYS, []);
  assert.equal(env.PORT, 8080);
  assert.equal(env.CLICKHOUSE_HTTP_PORT, 8123);
  assert.equal(env.KAFKA_EVENTS_TOPIC, "reckon.events.v1");
});

test("every bad variable is reported at once, naming expectation and received value; keys are redacted", () => {
  assert.throws(
    () =>
      loadEnv({
        KAFKA_BROKERS: "localhost",
        PORT: "http",
        RECKON_READ_KEYS: "short",
        REDIS_URL: "mysql://x",
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        "DATABASE_URL is required: Invalid input: expected string, received undefined",
        'KAFKA_BROKERS: each broker must be host:port (received "localhost")',
        'REDIS_URL: must start with redis://, rediss://, redis-cluster:// or memory:// (the in-process store: memory://DIR) (received "mysql://x")',
        'PORT: Invalid input: expected number, received NaN (received "http")',
        'RECKON_READ_KEYS: each API key must be at least 16 characters (received "<redacted>")',
      ]);
      return true;
    },
  );
});

test("the ClickHouse endpoint is loopback, analyst and origin-closed by default; its password is redacted", () => {
  const env = loadEnv(good);
  assert.equal(env.CLICKHOUSE_HTTP_HOST, "127.0.0.1");
  assert.equal(env.CLICKHOUSE_HTTP_USER, "analyst");
  assert.equal(env.CLICKHOUSE_HTTP_PASSWORD, undefined);
  assert.deepEqual(env.CLICKHOUSE_HTTP_ALLOWED_ORIGINS, []);
  assert.throws(
    () => loadEnv({ ...good, CLICKHOUSE_HTTP_PASSWORD: "short", CLICKHOUSE_HTTP_ALLOWED_ORIGINS: "evil" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        'CLICKHOUSE_HTTP_PASSWORD: must be at least 16 characters (received "<redacted>")',
        'CLICKHOUSE_HTTP_ALLOWED_ORIGINS: each origin must be scheme://host[:port] (received "evil")',
      ]);
      return true;
    },
  );
});
