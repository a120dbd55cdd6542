import { clockFromConfig, dateOf } from "../core/clock/clock.ts";
import type { Resources, RoleModule } from "../core/runtime/role.ts";
import { ChdbClickHouseStore } from "../core/clickhouse/chdb-adapter.ts";
import {
  startClickHouseHttpEndpoint,
  type ClickHouseHttpEndpoint,
} from "../core/clickhouse-endpoint/server.ts";
import { logger } from "../core/logger.ts";
import { experimentsRouter } from "./experiments/router.ts";
import { clickHouseOverlap, clickHouseStatistics } from "./experiments/clickhouse-statistics.ts";
import { dashboardRouter } from "./dashboard/router.ts";
import { holdoutsRouter } from "./holdouts/router.ts";
import { registerHoldoutsOpenApi } from "./holdouts/api-schemas.ts";
import { registerExperimentsOpenApi } from "./experiments/api-schemas.ts";
import { recommendersRouter } from "./recommenders/router.ts";
import { registerRecommendersOpenApi } from "./recommenders/api-schemas.ts";

/**
 * Experiments API (definitions, assignment with exposure logging, results) and the dashboard. Results read
 * the ClickHouse analytics projection, opened on first use so management and assignment work without it.
 */
export const analyticsRole: RoleModule = {
  name: "analytics",
  description: "experiments API (definitions, assignment, results), recommender metrics and the dashboard",
  async start(resources) {
    // Business time (experiment starts and stops, the results' "now"): the system clock, or a fixed one.
    const now = dateOf(clockFromConfig(resources.env));
    const endpoint = await serveEmbeddedClickHouse(resources);
    return {
      routers: [
        experimentsRouter({
          db: resources.db,
          keys: resources.keys,
          statistics: clickHouseStatistics(() => resources.clickhouse(), resources.db),
          overlap: clickHouseOverlap(() => resources.clickhouse()),
          now,
        }),
        holdoutsRouter({
          db: resources.db,
          keys: resources.keys,
          statistics: clickHouseStatistics(() => resources.clickhouse()),
          now,
        }),
        recommendersRouter({
          db: resources.db,
          keys: resources.keys,
          clickhouse: () => resources.clickhouse(),
          windowMinutes: resources.env.RECKON_ATTRIBUTION_WINDOW_MINUTES,
          now,
        }),
        dashboardRouter(),
      ],
      readiness: [],
      openapi: (registry) => {
        registerExperimentsOpenApi(registry);
        registerHoldoutsOpenApi(registry);
        registerRecommendersOpenApi(registry);
      },
      stop: async () => {
        await endpoint?.close();
      },
    };
  },
};

/**
 * With the in-process engine (no CLICKHOUSE_URL), SQL dashboards and other processes reach Reckon's ClickHouse
 * through a ClickHouse-compatible HTTP endpoint: read-only for analysts, behind CLICKHOUSE_HTTP_USER and
 * CLICKHOUSE_HTTP_PASSWORD, on CLICKHOUSE_HTTP_HOST (loopback by default) and CLICKHOUSE_HTTP_PORT.
 * Reckon's own projections write through the in-process adapter, never through this door.
 */
async function serveEmbeddedClickHouse(resources: Resources): Promise<ClickHouseHttpEndpoint | undefined> {
  const { env } = resources;
  if (env.CLICKHOUSE_URL?.startsWith("http")) return undefined;
  if (env.CLICKHOUSE_HTTP_PASSWORD === undefined) {
    logger.warn("CLICKHOUSE_HTTP_PASSWORD is not set: the ClickHouse-compatible HTTP endpoint is not served");
    return undefined;
  }
  const store = await resources.clickhouse();
  if (!(store instanceof ChdbClickHouseStore)) return undefined;
  const endpoint = await startClickHouseHttpEndpoint({
    store,
    port: env.CLICKHOUSE_HTTP_PORT,
    host: env.CLICKHOUSE_HTTP_HOST,
    auth: { user: env.CLICKHOUSE_HTTP_USER, password: env.CLICKHOUSE_HTTP_PASSWORD },
    access: "read-only",
    allowedOrigins: env.CLICKHOUSE_HTTP_ALLOWED_ORIGINS,
  });
  logger.info({ url: endpoint.url }, "ClickHouse-compatible HTTP endpoint (in-process engine) listening");
  return endpoint;
}
