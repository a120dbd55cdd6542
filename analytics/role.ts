import type { Resources, RoleModule } from "../bin/platform.ts";
import { ChdbClickHouseStore } from "../core/clickhouse/chdb-adapter.ts";
import {
  startClickHouseHttpEndpoint,
  type ClickHouseHttpEndpoint,
} from "../core/clickhouse/http-endpoint.ts";
import { logger } from "../core/logger.ts";
import { experimentsRouter } from "./experiments/router.ts";
import { clickHouseOverlap, clickHouseStatistics } from "./experiments/clickhouse-statistics.ts";
import { dashboardRouter } from "./dashboard/router.ts";
import { holdoutsRouter } from "./holdouts/router.ts";
import { registerHoldoutsOpenApi } from "./holdouts/schemas.ts";
import { registerExperimentsOpenApi } from "./experiments/schemas.ts";

/**
 * Experiments API (definitions, assignment with exposure logging, results) and the dashboard. Results read
 * the ClickHouse analytics projection, opened on first use so management and assignment work without it.
 */
export const analyticsRole: RoleModule = {
  name: "analytics",
  description: "experiments API (definitions, assignment, results) and the dashboard",
  async start(resources) {
    const endpoint = await serveEmbeddedClickHouse(resources);
    return {
      routers: [
        experimentsRouter({
          db: resources.db,
          keys: resources.keys,
          statistics: clickHouseStatistics(() => resources.clickhouse()),
          overlap: clickHouseOverlap(() => resources.clickhouse()),
        }),
        holdoutsRouter({
          db: resources.db,
          keys: resources.keys,
          statistics: clickHouseStatistics(() => resources.clickhouse()),
        }),
        dashboardRouter(),
      ],
      readiness: [],
      openapi: (registry) => {
        registerExperimentsOpenApi(registry);
        registerHoldoutsOpenApi(registry);
      },
      stop: async () => {
        await endpoint?.close();
      },
    };
  },
};

/**
 * With the in-process engine (no CLICKHOUSE_URL), SQL dashboards and other processes reach Reckon's ClickHouse
 * through a ClickHouse-compatible HTTP endpoint on loopback (CLICKHOUSE_HTTP_PORT, default 8123).
 */
async function serveEmbeddedClickHouse(resources: Resources): Promise<ClickHouseHttpEndpoint | undefined> {
  if (resources.env.CLICKHOUSE_URL?.startsWith("http")) return undefined;
  const store = await resources.clickhouse();
  if (!(store instanceof ChdbClickHouseStore)) return undefined;
  const endpoint = await startClickHouseHttpEndpoint({
    store,
    port: resources.env.CLICKHOUSE_HTTP_PORT,
    host: "127.0.0.1",
  });
  logger.info({ url: endpoint.url }, "ClickHouse-compatible HTTP endpoint (in-process engine) listening");
  return endpoint;
}
