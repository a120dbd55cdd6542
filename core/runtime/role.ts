import type { Router } from "express";
import type { Kafka } from "kafkajs";
import type { Env } from "../config/env.ts";
import type { ClickHouseStore } from "../clickhouse/port.ts";
import type { ReadinessCheck } from "../http/app.ts";
import type { ApiKeys } from "../http/auth.ts";
import type { OpenApiRegistrar } from "../http/openapi.ts";
import type { Database } from "../postgres/database.ts";
import type { ReadModelPositions } from "../read-models/positions.ts";
import type { ProjectionStore } from "../projection-store/port.ts";
import type { LogTransport } from "../log-transport/port.ts";

/**
 * The contract between a role and the process that runs it. Roles implement `RoleModule` in their own folder
 * (`<folder>/role.ts`); the composition root in `bin/` registers and starts them, so roles never import `bin/`.
 */

/** Every role `reckon start` can run. */
export type RoleName = "ingest" | "relay" | "projectors" | "serving" | "analytics";

/** The stores and settings every role shares within one process. Stores other than Postgres open lazily. */
export interface Resources {
  env: Env;
  db: Database;
  kafka: Kafka;
  keys: ApiKeys;
  /**
   * The projection store of REDIS_URL: a single Redis, a Redis Cluster (`redis-cluster://`) or the in-process
   * store (`memory://DIR`); every role works on each.
   */
  projectionStore(): Promise<ProjectionStore>;
  clickhouse(): Promise<ClickHouseStore>;
  /**
   * How the projectors receive the log (RECKON_LOG_TRANSPORT: Kafka, or the Postgres tail), opened on first use
   * and shared by the process's projectors, status and read-your-writes waits; closed with the resources.
   */
  logTransport(): LogTransport;
  /** A new reader of the Redis read models' positions (read-your-writes); the caller closes it. */
  openReadModelPositions(): Promise<ReadModelPositions>;
  close(): Promise<void>;
}

/** What a started role hands back: HTTP routers to mount, readiness checks, and how to stop it. */
export interface StartedRole {
  routers?: Router[];
  /** Adds the role's paths to the OpenAPI document served at /openapi.json. */
  openapi?: OpenApiRegistrar;
  readiness?: ReadinessCheck[];
  stop(): Promise<void>;
}

/** A role (ingest, relay, projectors, serving, analytics ...): `reckon start` runs them all in one process. */
export interface RoleModule {
  name: RoleName;
  description: string;
  start(resources: Resources, running: ReadonlyMap<RoleName, StartedRole>): Promise<StartedRole>;
}
