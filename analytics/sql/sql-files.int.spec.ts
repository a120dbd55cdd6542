// Each analyst SQL file runs as-is through the in-process engine's ClickHouse HTTP endpoint with
// @clickhouse/client (what a SQL dashboard tool does), and agrees with loadVariantStatistics.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import { ChdbClickHouseStore } from "../../core/clickhouse/chdb-adapter.ts";
import {
  startClickHouseHttpEndpoint,
  type ClickHouseHttpEndpoint,
} from "../../core/clickhouse-endpoint/server.ts";
import { createAnalyticsProjection } from "../../projectors/analytics/projection.ts";
import { FIXTURE_EXPERIMENT, NOW, T0, fixtureLogMessages } from "../queries/testing.ts";
import { loadVariantStatistics, type VariantMetricStatistics } from "../queries/experiment-stats.ts";

const sqlFile = (name: string) =>
  readFileSync(fileURLToPath(new URL(`./${name}.sql`, import.meta.url)), "utf8");

describe("analytics/sql through the ClickHouse HTTP endpoint", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-analytics-sql-"));
  let store: ChdbClickHouseStore;
  let endpoint: ClickHouseHttpEndpoint;
  let client: ClickHouseClient;
  let expected: VariantMetricStatistics[];
  const window = { from: new Date(0), to: NOW };

  const run = async <T>(name: string, params: Record<string, unknown>): Promise<T[]> => {
    const result = await client.query({ query: sqlFile(name), query_params: params, format: "JSONEachRow" });
    return result.json<T>();
  };

  before(async () => {
    store = await ChdbClickHouseStore.open({ dataDir });
    const projection = createAnalyticsProjection({ clickhouse: store });
    for (const batch of fixtureLogMessages()) {
      await projection.apply({
        topic: "reckon.events.v1",
        partition: 0,
        messages: batch.map((message, i) => ({ offset: String(i), message })),
      });
    }
    expected = await loadVariantStatistics(store, FIXTURE_EXPERIMENT, { now: NOW });
    // The analyst's door as Reckon serves it: read-only, behind credentials.
    const auth = { user: "analyst", password: "analyst-password" };
    endpoint = await startClickHouseHttpEndpoint({ store, port: 0, auth });
    client = createClient({
      url: endpoint.url,
      username: auth.user,
      password: auth.password,
      log: { level: ClickHouseLogLevel.OFF },
    });
  });
  after(async () => {
    await client.close();
    await endpoint.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function pick(metric: string, variant: string) {
    return expected.find((s) => s.metric === metric && s.variant === variant)!;
  }

  it("exposures.sql lists each user's first exposure", async () => {
    const rows = await run<Record<string, string>>("exposures", { experiment: FIXTURE_EXPERIMENT.key });
    assert.deepEqual(
      rows.map((r) => [r.user_id, r.exposed_variant, r.first_exposed_at, r.exposed_device]),
      [
        ["u1", "control", "2024-03-01 01:00:00.000", "mobile"],
        ["u4", "treatment", "2024-03-01 01:00:00.000", "mobile"],
        ["u2", "control", "2024-03-01 02:00:00.000", "desktop"],
        ["u5", "treatment", "2024-03-01 05:00:00.000", "desktop"],
        ["u6", "treatment", "2024-03-01 06:00:00.000", "tablet"],
        ["u3", "control", "2024-03-01 10:00:00.000", "mobile"],
      ],
    );
  });

  it("variant_user_counts.sql counts users per variant in the window", async () => {
    const rows = await run("variant_user_counts", {
      experiment: FIXTURE_EXPERIMENT.key,
      from: new Date(T0 + 1.5 * 3_600_000),
      to: NOW,
    });
    assert.deepEqual(rows, [
      { variant: "control", users: 2 },
      { variant: "treatment", users: 2 },
    ]);
  });

  it("user_metric_values.sql gives per-user post and pre values", async () => {
    const rows = await run<{ user_id: string; post_value: number; pre_value: number }>("user_metric_values", {
      experiment: FIXTURE_EXPERIMENT.key,
      event_type: "purchase",
      aggregation: "sum",
      window_hours: 0,
      ...window,
    });
    assert.deepEqual(
      rows.map((r) => [r.user_id, r.post_value, r.pre_value]),
      [
        ["u1", 130, 10],
        ["u2", 0, 0],
        ["u3", 20, 5],
        ["u4", 130, 0],
        ["u5", 0, 15],
        ["u6", 40, 0],
      ],
    );
  });

  it("variant_statistics.sql equals loadVariantStatistics for conversion, absolute and percentile caps", async () => {
    const cases = [
      {
        metric: "converted",
        params: {
          event_type: "purchase",
          aggregation: "conversion",
          window_hours: 24,
          cap: 0,
          cap_percentile: 0,
        },
      },
      {
        metric: "revenue",
        params: { event_type: "purchase", aggregation: "sum", window_hours: 0, cap: 50, cap_percentile: 0 },
      },
      {
        metric: "revenue_p50",
        params: { event_type: "purchase", aggregation: "sum", window_hours: 24, cap: 0, cap_percentile: 0.5 },
      },
    ];
    for (const { metric, params } of cases) {
      const rows = await run<Record<string, string | number>>("variant_statistics", {
        experiment: FIXTURE_EXPERIMENT.key,
        ...params,
        ...window,
      });
      assert.deepEqual(
        rows.map((r) => [
          r.variant,
          Number(r.n),
          r.sum,
          r.sum_squares,
          r.pre_sum,
          r.pre_sum_squares,
          r.cross_sum,
        ]),
        ["control", "treatment"].map((variant) => {
          const s = pick(metric, variant);
          return [variant, s.n, s.sum, s.sumSquares, s.preSum, s.preSumSquares, s.crossSum];
        }),
        metric,
      );
    }
  });

  it("variant_ratio_statistics.sql equals loadVariantStatistics for the ratio metric", async () => {
    const rows = await run<Record<string, string | number>>("variant_ratio_statistics", {
      experiment: FIXTURE_EXPERIMENT.key,
      numerator_event_type: "click",
      numerator_aggregation: "count",
      denominator_event_type: "view",
      denominator_aggregation: "count",
      window_hours: 48,
      ...window,
    });
    assert.deepEqual(
      rows.map((r) => [
        r.variant,
        Number(r.n),
        r.sum,
        r.sum_squares,
        r.den_sum,
        r.den_sum_squares,
        r.num_den_cross,
      ]),
      ["control", "treatment"].map((variant) => {
        const s = pick("ctr", variant);
        return [variant, s.n, s.sum, s.sumSquares, s.denSum, s.denSumSquares, s.numDenCross];
      }),
    );
  });
});
