// The buffering rules of the recommendation log: one write per flush (not per answer), retry after a failed
// write, and a full buffer dropping the oldest records counted in the metric. Its Postgres write
// (appendRecommendationsServed) runs for real in analytics/recommenders/online-evaluation.e2e.spec.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  recommendationServed,
  type RecommendationServedEvent,
  type ServedAnswer,
} from "../../core/contracts/recommendation-served.ts";
import { recommendationsLogged } from "../../core/metrics.ts";
import { RecommendationLog } from "./recommendation-log.ts";

const served = (n: number): ServedAnswer => ({
  recommendationId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`,
  userId: `u${n}`,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
  modelVersion: n % 2 === 0 ? null : 3,
  items: [
    { item_id: "a", source: "trending" },
    { item_id: "b", source: "popular" },
  ],
});
const ids = (batch: RecommendationServedEvent[]) => batch.map((r) => r.user_id);
const dropped = async () =>
  (await recommendationsLogged.get()).values.find((v) => v.labels.outcome === "dropped")?.value ?? 0;

describe("recommendationServed", () => {
  it("numbers the items from rank 1 and keeps the model version and variant", () => {
    assert.deepEqual(
      recommendationServed({
        recommendationId: "R",
        userId: "u",
        at: new Date("2026-01-01T00:00:00Z"),
        modelVersion: 4,
        experiment: { key: "rankers", variant: "b" },
        items: [
          { item_id: "x", source: "neighbours" },
          { item_id: "y", source: "catalog" },
        ],
      }),
      {
        event_id: "R",
        type: "recommendation_served",
        user_id: "u",
        timestamp: "2026-01-01T00:00:00.000Z",
        model_version: 4,
        experiment: { key: "rankers", variant: "b" },
        items: [
          { item_id: "x", rank: 1, source: "neighbours" },
          { item_id: "y", rank: 2, source: "catalog" },
        ],
      },
    );
  });
});

describe("RecommendationLog", () => {
  it("writes what was recorded in batches of at most maxBatch, one write per batch", async () => {
    const writes: string[][] = [];
    const log = new RecommendationLog({
      write: async (batch) => void writes.push(ids(batch)),
      flushMs: 60_000,
      maxBuffered: 100,
      maxBatch: 2,
    });
    for (let n = 0; n < 5; n++) log.record(served(n));
    assert.deepEqual(writes, [], "nothing is written per answer");
    await log.flush();
    assert.deepEqual(writes, [["u0", "u1"], ["u2", "u3"], ["u4"]]);
    assert.equal(log.buffered, 0);
    await log.stop();
  });

  it("flushes on its own after flushMs", async () => {
    const written: string[] = [];
    let done!: () => void;
    const wrote = new Promise<void>((resolve) => (done = resolve));
    const log = new RecommendationLog({
      write: async (batch) => {
        written.push(...ids(batch));
        done();
      },
      flushMs: 5,
      maxBuffered: 100,
    });
    log.record(served(1));
    log.record(served(2));
    // The flush timer is unref'd (it must not hold a stopping process open); in a server the listening socket
    // keeps the loop alive, here a ref'd interval does, or the test would end before the timer fires.
    const keepAlive = setInterval(() => undefined, 1_000);
    try {
      await wrote;
    } finally {
      clearInterval(keepAlive);
    }
    assert.deepEqual(written, ["u1", "u2"]);
    await log.stop();
  });

  it("keeps the records of a failed write and writes them with the next flush", async () => {
    let fail = true;
    const written: string[] = [];
    const log = new RecommendationLog({
      write: async (batch) => {
        if (fail) throw new Error("database unavailable");
        written.push(...ids(batch));
      },
      flushMs: 60_000,
      maxBuffered: 100,
    });
    log.record(served(1));
    await log.flush();
    assert.equal(log.buffered, 1);
    log.record(served(2));
    fail = false;
    await log.flush();
    assert.deepEqual(written, ["u1", "u2"]);
    await log.stop();
  });

  it("drops the oldest records beyond maxBuffered and counts them", async () => {
    const before = await dropped();
    const written: string[] = [];
    let fail = true;
    const log = new RecommendationLog({
      write: async (batch) => {
        if (fail) throw new Error("database unavailable");
        written.push(...ids(batch));
      },
      flushMs: 60_000,
      maxBuffered: 3,
    });
    for (let n = 0; n < 5; n++) log.record(served(n));
    assert.equal(await dropped(), before + 2);
    fail = false;
    await log.stop();
    assert.deepEqual(written, ["u2", "u3", "u4"]);
  });

  it("stop() reports records the log still refuses", async () => {
    const log = new RecommendationLog({
      write: () => Promise.reject(new Error("database unavailable")),
      flushMs: 60_000,
      maxBuffered: 100,
    });
    log.record(served(1));
    await assert.rejects(log.stop(2), /1 recommendation records could not be written to the log/);
  });
});
