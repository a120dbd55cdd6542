import type { RoleModule } from "../bin/platform.ts";
import { experimentsRouter } from "./experiments/router.ts";
import { clickHouseStatistics } from "./experiments/clickhouse-statistics.ts";
import { dashboardRouter } from "./dashboard/router.ts";
import { registerExperimentsOpenApi } from "./experiments/schemas.ts";

/**
 * Experiments API (definitions, assignment with exposure logging, results) and the dashboard. Results read
 * the ClickHouse analytics projection, opened on first use so management and assignment work without it.
 */
export const analyticsRole: RoleModule = {
  name: "analytics",
  description: "experiments API (definitions, assignment, results) and the dashboard",
  async start(resources) {
    return {
      routers: [
        experimentsRouter({
          db: resources.db,
          keys: resources.keys,
          statistics: clickHouseStatistics(() => resources.clickhouse()),
        }),
        dashboardRouter(),
      ],
      readiness: [],
      openapi: registerExperimentsOpenApi,
      stop: async () => undefined,
    };
  },
};
