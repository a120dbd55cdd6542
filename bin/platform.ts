import type { Router } from "express";
import type { Kafka } from "kafkajs";
import { loadEnv, type Env } from "../core/config/env.ts";
import { openDatabase, type Database } from "../core/postgres/database.ts";
import { migrate } from "../core/postgres/migrate.ts";
import { createKafka } from "../core/kafka/kafka.ts";
import { ApiKeys } from "../core/http/auth.ts";
import { createHttpApp, listen, type ReadinessCheck } from "../core/http/app.ts";
import { applyLocalKeys, applyLocalStackDefaults } from "../core/runtime/local-env.ts";
import { eventsRouter } from "../ingest/http/events-router.ts";
import { itemsRouter } from "../ingest/http/items-router.ts";
import { Relay } from "../ingest/relay/relay.ts";
import { logger } from "../core/logger.ts";

/** The stores and settings every role shares within one process. */
export interface Resources {
  env: Env;
  db: Database;
  kafka: Kafka;
  keys: ApiKeys;
}

/** Reads and validates configuration (bringing the local stack up when no store is configured). */
export function resolveEnv(): Env {
  applyLocalStackDefaults();
  applyLocalKeys();
  return loadEnv();
}

export async function openResources(env: Env): Promise<Resources> {
  const db = openDatabase(env.DATABASE_URL, { maxConnections: 20 });
  await migrate(db);
  return {
    env,
    db,
    kafka: createKafka(env.KAFKA_BROKERS),
    keys: new ApiKeys({ read: env.RECKON_READ_KEYS, write: env.RECKON_WRITE_KEYS, admin: env.RECKON_ADMIN_KEYS }),
  };
}

export type Role = "ingest" | "relay";
export const ALL_ROLES: Role[] = ["ingest", "relay"];

export interface RunningPlatform {
  port: number | undefined;
  relay: Relay | undefined;
  stop(): Promise<void>;
}

/** Starts the given roles in this process: HTTP roles share one server on PORT. */
export async function startPlatform(resources: Resources, roles: readonly Role[]): Promise<RunningPlatform> {
  const { env, db, kafka, keys } = resources;
  const stops: (() => Promise<void>)[] = [];
  const routers: Router[] = [];
  const readiness: ReadinessCheck[] = [{ name: "postgres", check: async () => void (await db.query("SELECT 1")) }];

  if (roles.includes("ingest")) {
    routers.push(
      eventsRouter({
        db,
        keys,
        maxEventAgeMs: env.RECKON_MAX_EVENT_AGE_HOURS * 3_600_000,
        maxClockSkewMs: env.RECKON_MAX_CLOCK_SKEW_SECONDS * 1000,
      }),
      itemsRouter({ db, keys }),
    );
  }

  let relay: Relay | undefined;
  if (roles.includes("relay")) {
    relay = new Relay({ db, kafka, topic: env.KAFKA_EVENTS_TOPIC, partitions: env.KAFKA_PARTITIONS });
    await relay.start();
    stops.push(() => relay!.stop());
    readiness.push({ name: "kafka", check: () => kafkaReachable(kafka) });
  }

  let port: number | undefined;
  if (routers.length > 0) {
    const server = await listen(createHttpApp({ routers, readiness }), env.PORT, env.HOST);
    port = server.port;
    // The server closes first so in-flight requests finish while the stores are still open.
    stops.unshift(server.close);
    logger.info({ port, roles }, "reckon HTTP API listening");
  }

  return {
    port,
    relay,
    async stop() {
      for (const stop of stops) await stop();
    },
  };
}

async function kafkaReachable(kafka: Kafka): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}

/** SIGINT/SIGTERM: finish in-flight work, close stores, exit. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down gracefully");
    stop()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, "error during shutdown");
        process.exit(1);
      });
  };
  process.on("SIGINT", () => handler("SIGINT"));
  process.on("SIGTERM", () => handler("SIGTERM"));
}
