import type { ProjectionStore } from "../core/projection-store/port.ts";
import type { RedisClient } from "../core/redis/redis.ts";
import type { Queryable } from "../core/postgres/database.ts";
import type { Resources, RoleModule } from "../core/runtime/role.ts";
import { ConfigError, type Env } from "../core/config/env.ts";
import { logger } from "../core/logger.ts";
import { clockFromConfig } from "../core/clock/clock.ts";
import { auditedRun } from "../core/audit/audit-command.ts";
import { ErasedUsers, usersOf } from "./erasure/erased-users.ts";
import { eraseReadModels, type ErasureStores } from "./erasure/erase-users.ts";
import { erasureRouter, registerErasureOpenApi } from "./erasure/erasure-router.ts";
import { ANALYTICS_DATABASE } from "./analytics/migrate.ts";
import type { Projection } from "./runtime/projection.ts";
import { BackgroundConsumers } from "./runtime/background-start.ts";
import { SelfRebuild } from "./runtime/self-rebuild.ts";
import { replayProjection } from "./runtime/replay.ts";
import { RedisProjection } from "./runtime/redis-projection.ts";
import { replayAnalytics } from "./analytics/replay.ts";
import type { ReadModelPositions } from "../core/read-models/positions.ts";
import { assertHealthy } from "./store/open.ts";
import { createFeaturesProjection, FEATURES_PROJECTION } from "./features/projection.ts";
import {
  DEFAULT_FEATURES_CONFIG,
  FEATURES_VARIABLES,
  featuresConfig,
} from "../core/read-models/features-config.ts";
import { recommendationsConfig } from "./recommendations/ops.ts";
import { createRecommendationsProjection, RECOMMENDATIONS_PROJECTION } from "./recommendations/projection.ts";
import { ProjectionStatus, setDefaultProjectionStatus } from "./status/status.ts";
import { statusRouter } from "./status/router.ts";
import { registerStatusOpenApi } from "./status/openapi.ts";
import { ANALYTICS_PROJECTION_NAME, createAnalyticsProjection } from "./analytics/projection.ts";
import { postgresRunningExperiments } from "./analytics/experiment-totals.ts";
import { catalogReadModels, createSqlProjection, replaySqlReadModel } from "./search/index.ts";

/** Builds one projection from the process's shared stores. Other projections (analytics) plug in here. */
export type ProjectionFactory = (resources: Resources) => Projection | Promise<Projection>;

/** The variables the Redis projections are built from. */
export const REDIS_PROJECTION_VARIABLES = [
  ...FEATURES_VARIABLES,
  "RECKON_REDIS_PREFIX",
  "RECKON_REDIS_SCRIPT_BUDGET_MS",
  "RECKON_FIXED_CLOCK",
  "NODE_ENV",
] as const;
export type RedisProjectionEnv = Pick<Env, (typeof REDIS_PROJECTION_VARIABLES)[number]>;

/** The Redis projections by name: what the role runs and what `reckon replay --projection` can rebuild. */
export const REDIS_PROJECTIONS: Readonly<
  Record<
    string,
    (store: ProjectionStore | RedisClient, env: RedisProjectionEnv, log?: Queryable) => RedisProjection
  >
> = {
  [FEATURES_PROJECTION]: (store, env, log) =>
    createFeaturesProjection(store, {
      ...(log ? { log } : {}),
      prefix: env.RECKON_REDIS_PREFIX,
      config: featuresConfig(env),
      scriptBudgetMs: env.RECKON_REDIS_SCRIPT_BUDGET_MS,
      clock: clockFromConfig(env),
    }),
  [RECOMMENDATIONS_PROJECTION]: (store, env, log) =>
    createRecommendationsProjection(store, {
      ...(log ? { log } : {}),
      prefix: env.RECKON_REDIS_PREFIX,
      config: recommendationsConfig(env),
      scriptBudgetMs: env.RECKON_REDIS_SCRIPT_BUDGET_MS,
    }),
};

export const REDIS_PROJECTION_FACTORIES: Readonly<Record<string, ProjectionFactory>> = Object.fromEntries(
  Object.entries(REDIS_PROJECTIONS).map(([name, create]) => [
    name,
    async (resources: Resources) => create(await resources.projectionStore(), resources.env, resources.db),
  ]),
);

/**
 * The factories `RECKON_PROJECTIONS` selects (all when unset). An unknown name stops start-up with the
 * variable, the names known and what was received, rather than silently running fewer projections.
 */
export function selectProjections(
  factories: Readonly<Record<string, ProjectionFactory>>,
  names: readonly string[] | undefined,
): ProjectionFactory[] {
  if (names === undefined) return Object.values(factories);
  const unknown = names.filter((n) => !(n in factories));
  if (unknown.length > 0)
    throw new ConfigError([
      `RECKON_PROJECTIONS: each name must be one of ${Object.keys(factories).join(", ")} (received ${JSON.stringify(unknown.join(","))})`,
    ]);
  return [...new Set(names)].map((n) => factories[n]!);
}

/**
 * The projectors role: one consumer per projection on the process's log transport, and `GET /v1/status`. `extra` adds projections
 * built elsewhere (e.g. the ClickHouse analytics projection) to the same runtime and status.
 */
export function createProjectorsRole(
  factories: Readonly<Record<string, ProjectionFactory>> = REDIS_PROJECTION_FACTORIES,
): RoleModule {
  return {
    name: "projectors",
    description:
      "the log (Kafka or the Postgres tail) → read models (features, neighbours, search), /v1/status, user erasure",
    async start(resources) {
      const { env, db, keys } = resources;
      const transport = resources.logTransport();
      const selected = selectProjections(factories, env.RECKON_PROJECTIONS);
      const projections = await Promise.all(selected.map((f) => f(resources)));
      const groupPrefix = env.RECKON_PROJECTOR_GROUP_PREFIX;
      const selfRebuild = new SelfRebuild({ rebuilders: rebuildersFor(resources, projections) });
      const erasureStores = erasureStoresFor(resources, projections);
      // Events of erased users may still be on the topic: no projection applies them, and a user whose erasure
      // this process learns of late has their keys deleted once more (events applied in between go too).
      const erased = new ErasedUsers(db, {
        onErased: (ids) => eraseReadModels(erasureStores, ids),
      });
      await erased.start();
      // HTTP (ingest, serving, status) must not wait for the consumer groups: after a crash a join waits out the
      // dead members' session timeout.
      const consumers = new BackgroundConsumers({
        transport,
        projections,
        groupPrefix,
        isolateAfter: env.RECKON_PROJECTOR_ISOLATE_AFTER,
        onStateLost: (loss) => selfRebuild.report(loss),
        skip: erased.skips,
        onSkippedAfterApply: (messages) => eraseReadModels(erasureStores, usersOf(messages)),
      });
      const status = new ProjectionStatus({
        db,
        transport,
        projections,
        groupPrefix,
        readModelHealth: (name) => selfRebuild.health(name),
      });
      setDefaultProjectionStatus(status);
      const metricsTimer = setInterval(() => {
        status.status().catch((err: unknown) => logger.debug({ err }, "projector metrics not refreshed"));
      }, 5000);
      metricsTimer.unref();
      return {
        routers: [statusRouter(status, keys), erasureRouter({ stores: erasureStores, keys })],
        openapi: (registry) => {
          registerStatusOpenApi(registry);
          registerErasureOpenApi(registry);
        },
        readiness: [
          { name: "redis", check: async () => assertHealthy(await resources.projectionStore()) },
          {
            name: "projectors",
            check: async () => {
              const waiting = consumers.waitingFor();
              if (waiting) throw new Error(waiting);
            },
          },
          {
            name: "read-models",
            check: async () => {
              const rebuilding = selfRebuild.rebuilding();
              if (rebuilding.length > 0) throw new Error(rebuilding.join("; "));
            },
          },
        ],
        async stop() {
          clearInterval(metricsTimer);
          setDefaultProjectionStatus(undefined);
          await selfRebuild.stop();
          await consumers.stop();
          await erased.stop();
          await status.close();
        },
      };
    },
  };
}

/**
 * The Redis projections' positions as a role that reads them sees them: the projectors may run in another
 * process, so applied positions are read from the store and committed ones from the log transport. Serving waits on it for
 * read-your-writes (bin/roles.ts hands it over).
 */
export async function redisReadModelPositions(resources: Resources): Promise<ReadModelPositions> {
  const { env, db } = resources;
  const store = await resources.projectionStore();
  const projections = Object.values(REDIS_PROJECTIONS).map((create) => create(store, env));
  const status = new ProjectionStatus({
    db,
    transport: resources.logTransport(),
    projections,
    groupPrefix: env.RECKON_PROJECTOR_GROUP_PREFIX,
  });
  const names = projections.map((p) => p.name);
  return {
    waitForPosition: (token, timeoutMs) => status.waitForPosition(names, token, timeoutMs),
    close: () => status.close(),
  };
}

/** How each projection rebuilds itself after its store lost state: the same machinery as `reckon replay`. */
function rebuildersFor(
  resources: Resources,
  projections: readonly Projection[],
): Record<string, () => Promise<unknown>> {
  const { db, env } = resources;
  // The rebuilt version takes over the applied positions of every partition the transport delivers from.
  const live = async () => {
    const transport = resources.logTransport();
    return { topic: transport.topic, partitions: Math.max(...(await transport.partitions())) + 1 };
  };
  const rebuilders: Record<string, () => Promise<unknown>> = {};
  const catalog = catalogReadModels(featuresConfig(env));
  // A rebuild replaces a read model and switches readers to it: audited as the system's own command.
  const audited = (name: string, rebuild: () => Promise<object>) => () =>
    auditedRun(
      db,
      { actor: "system:self-rebuild", action: "projection.rebuild", target: name },
      rebuild,
      (result) => ({ ...result }),
    );
  for (const projection of projections) {
    const sqlModel = catalog[projection.name];
    if (sqlModel)
      rebuilders[projection.name] = audited(projection.name, async () =>
        replaySqlReadModel({ db, model: sqlModel, ...(await live()) }),
      );
    else if (projection instanceof RedisProjection)
      rebuilders[projection.name] = audited(projection.name, async () =>
        replayProjection({ db, projection, command: "a self-rebuild", ...(await live()) }),
      );
    else if (projection.name === ANALYTICS_PROJECTION_NAME)
      rebuilders[projection.name] = audited(projection.name, async () =>
        replayAnalytics({ db, clickhouse: await resources.clickhouse(), ...(await live()) }),
      );
  }
  return rebuilders;
}

/**
 * Where this process erases users: Postgres, its projection store, and ClickHouse when the analytics projection
 * runs here or ClickHouse is a server (CLICKHOUSE_URL) any process reaches.
 */
function erasureStoresFor(resources: Resources, projections: readonly Projection[]): ErasureStores {
  const { db, env } = resources;
  const analyticsHere = projections.some((p) => p.name === ANALYTICS_PROJECTION_NAME);
  return {
    db,
    projectionStore: () => resources.projectionStore(),
    prefix: env.RECKON_REDIS_PREFIX,
    clickhouse:
      analyticsHere || env.CLICKHOUSE_URL?.startsWith("http") ? () => resources.clickhouse() : undefined,
    analyticsDatabase: ANALYTICS_DATABASE,
  };
}

/** The ClickHouse analytics projection, on the process's shared ClickHouse store (in-process chdb by default). */
export const ANALYTICS_PROJECTION_FACTORY: ProjectionFactory = async (resources) =>
  createAnalyticsProjection({
    clickhouse: await resources.clickhouse(),
    experiments: postgresRunningExperiments(resources.db),
    minWriteIntervalMs: resources.env.RECKON_ANALYTICS_WRITE_INTERVAL_MS,
  });

/** The catalog read models (search, item detail): Postgres tables of their own, on the process's database. */
export const CATALOG_PROJECTION_FACTORIES: Readonly<Record<string, ProjectionFactory>> = Object.fromEntries(
  Object.keys(catalogReadModels(DEFAULT_FEATURES_CONFIG)).map((name) => [
    name,
    (resources: Resources) =>
      createSqlProjection(resources.db, catalogReadModels(featuresConfig(resources.env))[name]!),
  ]),
);

export const projectorsRole: RoleModule = createProjectorsRole({
  ...REDIS_PROJECTION_FACTORIES,
  [ANALYTICS_PROJECTION_NAME]: ANALYTICS_PROJECTION_FACTORY,
  ...CATALOG_PROJECTION_FACTORIES,
});
