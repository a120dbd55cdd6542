import type { Kafka } from "kafkajs";
import { ConfigError, type Env } from "../config/env.ts";
import type { Database } from "../postgres/database.ts";
import type { LogTransport } from "./port.ts";
import { KafkaLogTransport } from "./kafka-transport.ts";
import { PostgresTailTransport } from "./postgres-tail.ts";

export type LogTransportKind = LogTransport["kind"];

/** RECKON_LOG_TRANSPORT, where `auto` (the default) is Kafka when brokers are configured and the Postgres tail otherwise. */
export function logTransportKind(
  env: Pick<Env, "RECKON_LOG_TRANSPORT"> & { KAFKA_BROKERS?: readonly string[] | undefined },
): LogTransportKind {
  if (env.RECKON_LOG_TRANSPORT !== "auto") return env.RECKON_LOG_TRANSPORT;
  return env.KAFKA_BROKERS && env.KAFKA_BROKERS.length > 0 ? "kafka" : "postgres";
}

export interface LogTransportResources {
  db: Database;
  /** The Kafka client; asked for only when the Kafka transport is chosen. */
  kafka(): Kafka;
}

/**
 * The log transport the configuration selects. Callers (the projectors role, status, self-rebuild) hold the port
 * and never ask which adapter it is.
 */
export function openLogTransport(
  env: Pick<Env, "RECKON_LOG_TRANSPORT" | "KAFKA_EVENTS_TOPIC" | "KAFKA_DLQ_TOPIC" | "KAFKA_PARTITIONS"> & {
    KAFKA_BROKERS?: readonly string[] | undefined;
  },
  resources: LogTransportResources,
): LogTransport {
  if (logTransportKind(env) === "kafka") {
    if (!env.KAFKA_BROKERS || env.KAFKA_BROKERS.length === 0)
      throw new ConfigError([
        "RECKON_LOG_TRANSPORT: kafka needs KAFKA_BROKERS (received no brokers); unset it or set it to postgres",
      ]);
    return new KafkaLogTransport({
      kafka: resources.kafka(),
      db: resources.db,
      topic: env.KAFKA_EVENTS_TOPIC,
      dlqTopic: env.KAFKA_DLQ_TOPIC,
      partitions: env.KAFKA_PARTITIONS,
    });
  }
  return new PostgresTailTransport({ db: resources.db, topic: env.KAFKA_EVENTS_TOPIC });
}
