import type { ProjectionStore } from "../core/projection-store/port.ts";
import type { RedisClient } from "../core/redis/redis.ts";
import type { Resources, RoleModule } from "../bin/platform.ts";
import { ConfigError } from "../core/config/env.ts";
import { logger } from "../core/logger.ts";
import type { Projection } from "./runtime/projection.ts";
import { assertHealthy } from "./store/open.ts";
import { DEFAULT_GROUP_PREFIX, ProjectorRuntime } from "./runtime/consumer.ts";
import { DEFAULT_KEY_PREFIX } from "./runtime/keys.ts";
import { scriptBudgetMsFromEnv } from "./runtime/script-budget.ts";
import type { RedisProjection } from "./runtime/redis-projection.ts";
import { createFeaturesProjection, FEATURES_PROJECTION } from "./features/projection.ts";
import { featuresConfigFromEnv } from "./features/config.ts";
import { createRecommendationsProjection, RECOMMENDATIONS_PROJECTION } from "./recommendations/projection.ts";
import { ProjectionStatus, setDefaultProjectionStatus } from "./status/status.ts";
import { statusRouter } from "./status/router.ts";
import { ANALYTICS_PROJECTION_NAME, createAnalyticsProjection } from "./analytics/projection.ts";
import { postgresRunningExperiments } from "./analytics/experiment-totals.ts";

/** Builds one projection from the process's shared stores. Other projections (analytics) plug in here. */
export type ProjectionFactory = (resources: Resources) => Projection | Promise<Projection>;

/** Key prefix of the Redis read models (tests and side-by-side deployments use their own). */
export const redisKeyPrefix = (env: NodeJS.ProcessEnv = process.env) =>
  env.RECKON_REDIS_PREFIX || DEFAULT_KEY_PREFIX;
export const projectorGroupPrefix = (env: NodeJS.ProcessEnv = process.env) =>
  env.RECKON_PROJECTOR_GROUP_PREFIX || DEFAULT_GROUP_PREFIX;

/** The Redis projections by name: what the role runs and what `reckon replay --projection` can rebuild. */
export const REDIS_PROJECTIONS: Readonly<
  Record<string, (store: ProjectionStore | RedisClient, prefix: string) => RedisProjection>
> = {
  [FEATURES_PROJECTION]: (store, prefix) =>
    createFeaturesProjection(store, {
      prefix,
      config: featuresConfigFromEnv(),
      scriptBudgetMs: scriptBudgetMsFromEnv(),
    }),
  [RECOMMENDATIONS_PROJECTION]: (store, prefix) =>
    createRecommendationsProjection(store, { prefix, scriptBudgetMs: scriptBudgetMsFromEnv() }),
};

export const REDIS_PROJECTION_FACTORIES: Readonly<Record<string, ProjectionFactory>> = Object.fromEntries(
  Object.entries(REDIS_PROJECTIONS).map(([name, create]) => [
    name,
    async (resources: Resources) => create(await resources.projectionStore(), redisKeyPrefix()),
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
 * The projectors role: one consumer group per projection, and `GET /v1/status`. `extra` adds projections
 * built elsewhere (e.g. the ClickHouse analytics projection) to the same runtime and status.
 */
export function createProjectorsRole(
  factories: Readonly<Record<string, ProjectionFactory>> = REDIS_PROJECTION_FACTORIES,
): RoleModule {
  return {
    name: "projectors",
    description: "Kafka → read models (Redis features and neighbours), /v1/status",
    async start(resources) {
      const { env, db, kafka, keys } = resources;
      const selected = selectProjections(factories, env.RECKON_PROJECTIONS);
      const projections = await Promise.all(selected.map((f) => f(resources)));
      const groupPrefix = projectorGroupPrefix();
      const runtime = new ProjectorRuntime({
        kafka,
        topic: env.KAFKA_EVENTS_TOPIC,
        dlqTopic: env.KAFKA_DLQ_TOPIC,
        partitions: env.KAFKA_PARTITIONS,
        projections,
        groupPrefix,
      });
      await runtime.start();
      const status = new ProjectionStatus({
        db,
        kafka,
        topic: env.KAFKA_EVENTS_TOPIC,
        projections,
        groupPrefix,
      });
      setDefaultProjectionStatus(status);
      const metricsTimer = setInterval(() => {
        status.status().catch((err: unknown) => logger.debug({ err }, "projector metrics not refreshed"));
      }, 5000);
      metricsTimer.unref();
      return {
        routers: [statusRouter(status, keys)],
        readiness: [{ name: "redis", check: async () => assertHealthy(await resources.projectionStore()) }],
        async stop() {
          clearInterval(metricsTimer);
          setDefaultProjectionStatus(undefined);
          await runtime.stop();
          await status.close();
        },
      };
    },
  };
}

/** The ClickHouse analytics projection, on the process's shared ClickHouse store (in-process chdb by default). */
export const ANALYTICS_PROJECTION_FACTORY: ProjectionFactory = async (resources) =>
  createAnalyticsProjection({
    clickhouse: await resources.clickhouse(),
    experiments: postgresRunningExperiments(resources.db),
    minWriteIntervalMs: resources.env.RECKON_ANALYTICS_WRITE_INTERVAL_MS,
  });

export const projectorsRole: RoleModule = createProjectorsRole({
  ...REDIS_PROJECTION_FACTORIES,
  [ANALYTICS_PROJECTION_NAME]: ANALYTICS_PROJECTION_FACTORY,
});
