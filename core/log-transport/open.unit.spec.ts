import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../config/env.ts";
import type { Database } from "../postgres/database.ts";
import { logTransportKind, openLogTransport } from "./open.ts";

const settings = {
  KAFKA_EVENTS_TOPIC: "reckon.events.v1",
  KAFKA_DLQ_TOPIC: "reckon.events.dlq.v1",
  KAFKA_PARTITIONS: 3,
};
/** Never queried: the transports open their connections on first use. */
const db = {} as Database;

test("the log transport is Kafka when brokers are set, else the Postgres tail, unless RECKON_LOG_TRANSPORT says", () => {
  assert.equal(logTransportKind({ RECKON_LOG_TRANSPORT: "auto", KAFKA_BROKERS: ["k:9092"] }), "kafka");
  assert.equal(logTransportKind({ RECKON_LOG_TRANSPORT: "auto", KAFKA_BROKERS: undefined }), "postgres");
  assert.equal(logTransportKind({ RECKON_LOG_TRANSPORT: "auto", KAFKA_BROKERS: [] }), "postgres");
  assert.equal(logTransportKind({ RECKON_LOG_TRANSPORT: "postgres", KAFKA_BROKERS: ["k:9092"] }), "postgres");
  assert.equal(logTransportKind({ RECKON_LOG_TRANSPORT: "kafka", KAFKA_BROKERS: ["k:9092"] }), "kafka");
});

test("openLogTransport opens the selected adapter on the events topic's name, and asks for Kafka only then", () => {
  let kafkaAsked = 0;
  const resources = {
    db,
    kafka: () => {
      kafkaAsked++;
      return {} as never;
    },
  };
  const tail = openLogTransport(
    { ...settings, RECKON_LOG_TRANSPORT: "auto", KAFKA_BROKERS: undefined },
    resources,
  );
  assert.equal(tail.kind, "postgres");
  assert.equal(tail.topic, "reckon.events.v1");
  assert.equal(kafkaAsked, 0);
  const kafka = openLogTransport(
    { ...settings, RECKON_LOG_TRANSPORT: "auto", KAFKA_BROKERS: ["k:9092"] },
    resources,
  );
  assert.equal(kafka.kind, "kafka");
  assert.equal(kafka.topic, "reckon.events.v1");
  assert.equal(kafkaAsked, 1);
});

test("RECKON_LOG_TRANSPORT=kafka without brokers is refused, naming both variables", () => {
  assert.throws(
    () =>
      openLogTransport(
        { ...settings, RECKON_LOG_TRANSPORT: "kafka", KAFKA_BROKERS: undefined },
        { db, kafka: () => ({}) as never },
      ),
    (err: unknown) =>
      err instanceof ConfigError &&
      err.problems.length === 1 &&
      err.problems[0] ===
        "RECKON_LOG_TRANSPORT: kafka needs KAFKA_BROKERS (received no brokers); unset it or set it to postgres",
  );
});
