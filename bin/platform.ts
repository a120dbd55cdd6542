import type { Router } from "express";
import path from "node:path";
import type { Env } from "../core/config/env.ts";
import { openDatabase } from "../core/postgres/database.ts";
import { migrate } from "../core/postgres/migrate.ts";
import { createKafka } from "../core/kafka/kafka.ts";
import { logTransportKind, openLogTransport } from "../core/log-transport/open.ts";
import type { LogTransport } from "../core/log-transport/port.ts";
import type { ProjectionStore } from "../core/projection-store/port.ts";
import { openProjectionStore } from "../projectors/store/open.ts";
import { openClickHouse } from "../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../core/clickhouse/port.ts";
import { ApiKeys } from "../core/http/auth.ts";
import { Quotas, quotaSettingsFromEnv } from "../core/http/quotas.ts";
import { createHttpApp, listen, type ReadinessCheck } from "../core/http/app.ts";
import { logger } from "../core/logger.ts";
import { buildOpenApiDocument, type OpenApiRegistrar } from "../core/http/openapi.ts";
import type { Resources, RoleName, StartedRole } from "../core/runtime/role.ts";
import { redisReadModelPositions } from "../projectors/role.ts";
import { ROLE_MODULES } from "./roles.ts";
import { Kafka } from "kafkajs";
import { mkdirSync } from "node:fs";
import { DataDirectoryLock } from "../core/postgres/data-directory-lock.ts";
import { compositionOf, type StoreComposition } from "../core/config/composition.ts";
import { DEFAULT_DATA_DIR } from "../core/config/resolve.ts";

/** What each store of `env` runs on (embedded or a server). */
export const compositionOfEnv = (env: Env): StoreComposition =>
  compositionOf(env.RECKON_DATA_DIR ? path.resolve(env.RECKON_DATA_DIR) : DEFAULT_DATA_DIR, {
    DATABASE_URL: env.DATABASE_URL,
    REDIS_URL: env.REDIS_URL,
    CLICKHOUSE_URL: env.CLICKHOUSE_URL,
    KAFKA_BROKERS: env.KAFKA_BROKERS?.join(","),
    RECKON_LOG_TRANSPORT: env.RECKON_LOG_TRANSPORT,
  });

/**
 * Without KAFKA_BROKERS there is no Kafka: a client whose broker list is an error, so any use says why rather
 * than dialling a default address.
 */
function kafkaOf(env: Env): Kafka {
  if (env.KAFKA_BROKERS) return createKafka(env.KAFKA_BROKERS);
  return new Kafka({
    clientId: "reckon",
    brokers: () => {
      throw new Error("no Kafka configured (KAFKA_BROKERS is unset): the log transport is the Postgres tail");
    },
  });
}

export async function openResources(env: Env): Promise<Resources> {
  const composition = compositionOfEnv(env);
  // One process per data directory, refused with the holder's pid before any embedded store is touched
  // (the stores' own locks guard their subdirectories; this one names the directory the operator configured).
  let dataDirLock: DataDirectoryLock | undefined;
  if (composition.database.embedded) {
    mkdirSync(composition.dataDir, { recursive: true });
    dataDirLock = DataDirectoryLock.acquire(composition.dataDir);
  }
  const db = openDatabase(env.DATABASE_URL, { maxConnections: 20 });
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    dataDirLock?.release();
    throw err;
  }
  let store: Promise<ProjectionStore> | undefined;
  const projectionStore = () => {
    if (!env.REDIS_URL) return Promise.reject(new Error("REDIS_URL is required by this role"));
    store ??= openProjectionStore(env.REDIS_URL).then((opened) => {
      logger.info({ projectionStore: opened.kind }, `projection store: ${opened.kind}`);
      return opened;
    });
    return store;
  };
  let clickhouse: Promise<ClickHouseStore> | undefined;
  let logTransport: LogTransport | undefined;
  const resources: Resources = {
    env,
    db,
    kafka: kafkaOf(env),
    keys: new ApiKeys(
      { read: env.RECKON_READ_KEYS, write: env.RECKON_WRITE_KEYS, admin: env.RECKON_ADMIN_KEYS },
      new Quotas(quotaSettingsFromEnv(env)),
    ),
    projectionStore,
    clickhouse() {
      clickhouse ??= openClickHouse(env.CLICKHOUSE_URL);
      return clickhouse;
    },
    logTransport() {
      logTransport ??= openLogTransport(env, { db, kafka: () => resources.kafka });
      return logTransport;
    },
    openReadModelPositions: () => redisReadModelPositions(resources),
    async close() {
      await logTransport?.close();
      if (store) await (await store).close();
      if (clickhouse) await (await clickhouse).close();
      await db.close();
      dataDirLock?.release();
    },
  };
  return resources;
}

export interface RunningPlatform {
  port: number;
  roles: ReadonlyMap<RoleName, StartedRole>;
  stop(): Promise<void>;
}

/** Starts the given roles in this process, in registry order; HTTP roles share one server on PORT. */
export async function startPlatform(
  resources: Resources,
  roles: readonly RoleName[],
): Promise<RunningPlatform> {
  const { db } = resources;
  const running = new Map<RoleName, StartedRole>();
  const readiness: ReadinessCheck[] = [
    { name: "postgres", check: async () => void (await db.query("SELECT 1")) },
  ];
  const routers: Router[] = [];
  const openapi: OpenApiRegistrar[] = [];
  // The relay feeds Kafka; with the Postgres tail the projectors read the log itself, so there is none to run.
  const relayNeeded = logTransportKind(resources.env) === "kafka";
  for (const module of ROLE_MODULES) {
    if (!roles.includes(module.name)) continue;
    if (module.name === "relay" && !relayNeeded) {
      logger.info("relay not started: the projectors tail the Postgres log (no Kafka)");
      continue;
    }
    const started = await module.start(resources, running);
    running.set(module.name, started);
    routers.push(...(started.routers ?? []));
    // Roles sharing a store (projectors and serving both use Redis) would list it twice; one check per name.
    for (const check of started.readiness ?? [])
      if (!readiness.some((r) => r.name === check.name)) readiness.push(check);
    if (started.openapi) openapi.push(started.openapi);
  }

  // Every process listens, also one running only the relay or projectors: its health, readiness and metrics
  // (relay and projector lag) are what an orchestrator's probes and a Prometheus scrape need.
  const app = createHttpApp({ routers, readiness, openApiDocument: buildOpenApiDocument(openapi) });
  const server = await listen(app, resources.env.PORT, resources.env.HOST);
  const port = server.port;
  const closeServer = server.close;
  logger.info(
    { port, roles },
    routers.length > 0 ? "reckon HTTP API listening" : "reckon health and metrics listening",
  );

  return {
    port,
    roles: running,
    async stop() {
      // The server closes first so in-flight requests finish while the roles and stores are still up.
      await closeServer();
      for (const role of [...running.values()].reverse()) await role.stop();
    },
  };
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
