// Online evaluation end to end: a recommendation experiment with two rankers as variants. Real parts throughout:
// Postgres (events API, experiments API, the log), Redis (the features and recommendations read models, written
// by their projections from the log), serving (both HTTP layers, recording every answer in the log through its
// batched writer), the analytics projection into ClickHouse (chdb), the recommender metrics API, and the
// dashboard page in headless Chromium (/usr/bin/chromium; deploy/local-stack/chromium.sh installs it).
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import { readEncodedLogBatch } from "../../core/event-store/log-reader.ts";
import { createAnalyticsProjection } from "../../projectors/analytics/projection.ts";
import { postgresRunningExperiments } from "../../projectors/analytics/experiment-totals.ts";
import { decodeLogMessage } from "../../projectors/runtime/decode.ts";
import type { Projection } from "../../projectors/runtime/projection.ts";
import { appendRecommendationsServed } from "../../core/event-store/event-store.ts";
import type { RedisClient } from "../../core/redis/redis.ts";
import { TEST_KEYS } from "../../core/testing/http.ts";
import { stackEnv, uniqueName } from "../../core/testing/stack.ts";
import { openRedisClient } from "../../core/redis/redis.ts";
import { createFeaturesProjection } from "../../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../../projectors/recommendations/projection.ts";
import { closeRedis } from "../../projectors/runtime/testing.ts";
import { ExperimentVariants } from "../../serving/experiments/variants.ts";
import { RecommendationLog } from "../../serving/http/recommendation-log.ts";
import { servingRouter } from "../../serving/http/router.ts";
import { HEURISTIC_RANKER, type Ranker } from "../../serving/models/model-holder.ts";
import { DEFAULT_SERVING_CONFIG } from "../../serving/ranking/config.ts";
import { deleteMatching, uncachedReadSide } from "../../serving/ranking/testing.ts";
import { dashboardRouter } from "../dashboard/router.ts";
import { createAndStart, openExperimentStack, postEvents, uuid } from "../experiments/testing.ts";
import { recommendersRouter } from "./router.ts";

const SCREENSHOT = path.join(tmpdir(), "reckon-recommenders.png");
const MIN = 60_000;
const USERS = 240;
const N = 5;
const ITEMS = Array.from({ length: 12 }, (_, i) => `item-${i + 1}`);

/** The "active" ranker of this deployment (registry version 7): the heuristic's order, reversed. */
const REVERSED: Ranker = {
  version: 7,
  artifactVersion: null,
  async score(rows, count) {
    const scores = await HEURISTIC_RANKER.score(rows, count);
    return Array.from(scores, (s) => -s);
  },
};

interface Answer {
  user: string;
  variant: string;
  recommendation_id: string;
  model_version: number | null;
  items: { item_id: string; source: string; model_version: number | null }[];
}

let stack: Awaited<ReturnType<typeof openExperimentStack>>;
let redis: RedisClient;
let prefix: string;
let log: RecommendationLog;
let browser: Browser | undefined;
let page: Page;
const answers: Answer[] = [];
/** What the simulated users did, to check the API's counts against. */
const sent = {
  clicks: 0,
  explicit: 0,
  window: 0,
  purchases: 0,
  revenue: 0,
  clicksByVariant: new Map<string, number>(),
};

before(async () => {
  prefix = uniqueName("rkonline");
  redis = openRedisClient(stackEnv().REDIS_URL);
  const read = uncachedReadSide(redis, prefix);
  stack = await openExperimentStack(({ keys, db, clickhouse, now }) => {
    log = new RecommendationLog({
      write: (records) => appendRecommendationsServed(db.db, records),
      flushMs: 50,
      maxBuffered: 100_000,
    });
    return [
      servingRouter({
        ...read,
        ranker: () => REVERSED,
        config: DEFAULT_SERVING_CONFIG,
        keys,
        experiments: new ExperimentVariants({ db: db.db }),
        recommendationLog: log,
      }),
      recommendersRouter({ db: db.db, keys, clickhouse: async () => clickhouse, windowMinutes: 30, now }),
      dashboardRouter(),
    ];
  });
  stack.setClock(Date.now());
});

after(async () => {
  await browser?.close();
  await log?.stop().catch(() => undefined);
  await stack?.close();
  if (redis) {
    await deleteMatching(redis, `${prefix}:*`);
    await closeRedis(redis);
  }
});

/** The log's last position now. */
async function logHead(): Promise<number> {
  const { rows } = await stack.db.db.query<{ p: string | number }>("SELECT max(position) AS p FROM events");
  return Number(rows[0]!.p);
}

/**
 * A log reader sees only what every older transaction of the cluster has finished with (it reads below the
 * snapshot's xmin), and the stack's Postgres is shared: another database's open transaction can hide the newest
 * rows for a moment. So each pump goes on until it has applied the head the log had when it started.
 */
async function waitForHead(pumped: () => Promise<number>): Promise<void> {
  const head = await logHead();
  while ((await pumped()) < head) await new Promise((resolve) => setTimeout(resolve, 100));
}

/**
 * The log after `at`, as the relay encodes it and the projector runtime decodes it (a record the runtime would
 * dead-letter fails here), through `projections`; returns the position reached.
 */
async function pump(
  projections: readonly Pick<Projection, "apply">[],
  from: LogPosition,
): Promise<LogPosition> {
  let at = from;
  for (;;) {
    const batch = await readEncodedLogBatch(stack.db.db, at, 1000);
    if (batch.length === 0) return at;
    const messages = batch.map((entry, i) => {
      const decoded = decodeLogMessage(Buffer.from(entry.value));
      assert.ok(decoded.ok, decoded.ok ? "" : decoded.reason);
      return { offset: String(i), message: decoded.message };
    });
    for (const p of projections) await p.apply({ topic: "reckon.events.v1", partition: 0, messages });
    at = batch.at(-1)!.position;
  }
}

/** The log through the analytics projection into ClickHouse (with running experiments' totals). */
let analyticsAt: LogPosition = LOG_START;
async function pumpIntoClickHouse(): Promise<void> {
  const analytics = createAnalyticsProjection({
    clickhouse: stack.clickhouse,
    experiments: postgresRunningExperiments(stack.db.db),
  });
  await waitForHead(async () => (analyticsAt = await pump([analytics], analyticsAt)).position);
}

/** The log through the Redis projections serving reads (what the relay and projectors do). */
let redisAt: LogPosition = LOG_START;
async function pumpLogIntoRedis(): Promise<void> {
  const projections = [
    createFeaturesProjection(redis, { prefix }),
    createRecommendationsProjection(redis, { prefix }),
  ];
  await waitForHead(async () => (redisAt = await pump(projections, redisAt)).position);
}

describe("online evaluation of recommenders", () => {
  it("serves lists that name themselves, per item model version and source, from both HTTP layers", async () => {
    // Background traffic makes the items popular (item-1 most), so a new user's list is trending/popular items.
    const now = Date.now();
    const views = ITEMS.flatMap((item, i) =>
      Array.from({ length: ITEMS.length - i }, (_, j) => ({
        event_id: uuid(10_000 + i * 100 + j),
        type: "view",
        user_id: `bg-${j}`,
        item_id: item,
        timestamp: new Date(now - 60 * MIN + j * 1000).toISOString(),
      })),
    );
    await postEvents(stack.api, views);
    await pumpLogIntoRedis();

    await createAndStart(
      stack.api,
      {
        key: "rankers",
        name: "Reversed active ranker against the heuristic",
        variants: [
          { key: "control", weight: 0.5, serving: { ranker: "active" } },
          { key: "heuristic", weight: 0.5, serving: { ranker: "heuristic" } },
        ],
        control: "control",
        metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase" }],
      },
      "rankers",
    );

    for (let i = 0; i < USERS; i++) {
      const user = `shopper-${i}`;
      // Every tenth request in a form the fast path leaves to express (other casing of the path).
      const route = i % 10 === 0 ? "/V1/recommendations" : "/v1/recommendations";
      const res = await stack.api.call("GET", `${route}/${user}?n=${N}&experiment=rankers`, {
        scope: "read",
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      answers.push({ user, variant: res.body.experiment.variant, ...res.body });
    }
    const ids = new Set(answers.map((a) => a.recommendation_id));
    assert.equal(ids.size, USERS, "one recommendation_id per answer");
    for (const a of answers) {
      assert.match(
        a.recommendation_id,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.equal(a.items.length, N);
      assert.equal(a.model_version, a.variant === "control" ? 7 : null);
      for (const item of a.items) {
        assert.equal(item.model_version, a.model_version);
        assert.ok(["trending", "popular", "affinity", "catalog"].includes(item.source), item.source);
      }
    }
    // The two rankers order the same candidates oppositely.
    const first = (variant: string) =>
      answers.find((a) => a.variant === variant)!.items.map((i) => i.item_id);
    assert.notDeepEqual(first("control"), first("heuristic"));

    // Serving recorded every answer in the log, in batches.
    await log.flush();
    const { rows } = await stack.db.db.query<{ n: string; users: string }>(
      "SELECT count(*) AS n, count(DISTINCT user_id) AS users FROM events WHERE kind = 'recommendation'",
    );
    assert.deepEqual(
      rows.map((r) => [Number(r.n), Number(r.users)]),
      [[USERS, USERS]],
    );
  });

  it("attributes clicks and purchases by recommendation_id or by user, item and window", async () => {
    // Users of the heuristic click their first item three times in four; the reversed ranker's once in four.
    // Half the clicks send the recommendation_id back, half do not (attributed by window). One user in eight
    // buys their second item (20.0), whatever the variant; one interaction comes after the 30-minute window.
    stack.setClock(Date.now() + 60 * MIN);
    const events: unknown[] = [];
    answers.forEach((a, i) => {
      const servedAt = Date.now();
      const clicks = a.variant === "heuristic" ? i % 4 !== 0 : i % 4 === 0;
      if (clicks) {
        const explicit = i % 2 === 0;
        events.push({
          event_id: uuid(200_000 + i),
          type: "click",
          user_id: a.user,
          item_id: a.items[0]!.item_id,
          timestamp: new Date(servedAt + 2 * MIN).toISOString(),
          ...(explicit ? { recommendation_id: a.recommendation_id } : {}),
        });
        sent.clicks += 1;
        sent.clicksByVariant.set(a.variant, (sent.clicksByVariant.get(a.variant) ?? 0) + 1);
        if (explicit) sent.explicit += 1;
        else sent.window += 1;
      }
      if (i % 8 === 1) {
        events.push({
          event_id: uuid(300_000 + i),
          type: "purchase",
          user_id: a.user,
          item_id: a.items[1]!.item_id,
          value: 20,
          timestamp: new Date(servedAt + 5 * MIN).toISOString(),
        });
        sent.purchases += 1;
        sent.revenue += 20;
        sent.window += 1;
      }
    });
    // Outside the window and without an id: not attributed.
    events.push({
      event_id: uuid(400_000),
      type: "click",
      user_id: answers[3]!.user,
      item_id: answers[3]!.items[2]!.item_id,
      timestamp: new Date(Date.now() + 45 * MIN).toISOString(),
    });
    // A malformed recommendation_id is refused, naming the field and the rule.
    const bad = await stack.api.call("POST", "/v1/events", {
      scope: "write",
      body: {
        events: [
          {
            event_id: uuid(400_001),
            type: "click",
            user_id: "x",
            item_id: "y",
            timestamp: new Date().toISOString(),
            recommendation_id: "not-a-uuid",
          },
        ],
      },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.results[0].errors, [
      {
        field: "events.0.recommendation_id",
        rule: "must be the recommendation_id of a GET /v1/recommendations answer (a UUID)",
        received: "not-a-uuid",
      },
    ]);
    await postEvents(stack.api, events);
    await pumpIntoClickHouse();

    const res = await stack.api.call("GET", `/v1/recommenders/metrics?k=${N}`, { scope: "read" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const all = res.body.groups.find((g: { dimension: string }) => g.dimension === "all");
    assert.deepEqual(
      {
        users: all.users,
        recommendations: all.recommendations,
        impressions: all.impressions,
        clicks_at_k: all.clicks_at_k,
        conversions: all.conversions,
        revenue: all.revenue,
        attributions: all.attributions,
      },
      {
        users: USERS,
        recommendations: USERS,
        impressions: USERS * N,
        clicks_at_k: sent.clicks,
        conversions: sent.purchases,
        revenue: sent.revenue,
        attributions: { explicit: sent.explicit, window: sent.window },
      },
    );
    assert.equal(all.metrics.ctr_at_k.value, sent.clicks / (USERS * N));
    const byModel = (value: string) =>
      res.body.groups.find(
        (g: { dimension: string; value: string }) => g.dimension === "model_version" && g.value === value,
      );
    assert.equal(byModel("7").clicks_at_k, sent.clicksByVariant.get("control"));
    assert.equal(byModel("heuristic").clicks_at_k, sent.clicksByVariant.get("heuristic"));
    const variants = res.body.groups.filter(
      (g: { dimension: string }) => g.dimension === "experiment:rankers",
    );
    assert.deepEqual(
      variants.map((g: { value: string; users: number }) => [g.value, g.users]),
      ["control", "heuristic"].map((v) => [v, answers.filter((a) => a.variant === v).length]),
    );
    const sources = res.body.groups.filter((g: { dimension: string }) => g.dimension === "source");
    assert.equal(
      sources.reduce((s: number, g: { impressions: number }) => s + g.impressions, 0),
      USERS * N,
      "every item shown is in exactly one source group",
    );
  });

  it("ends the recommendation experiment with a verdict on these metrics", async () => {
    const res = await stack.api.call("GET", `/v1/recommenders/experiments/rankers/metrics?k=${N}`, {
      scope: "read",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.verdict.control, "control");
    assert.equal(res.body.verdict.winner, "heuristic");
    const [variant] = res.body.verdict.variants;
    assert.equal(variant.variant, "heuristic");
    assert.equal(variant.verdict, "adopt");
    const ctr = variant.comparisons.find((c: { metric: string }) => c.metric === "ctr_at_k");
    assert.equal(ctr.verdict, "better");
    assert.ok(ctr.adjusted_p_value < 0.05);
    for (const metric of ["conversion_rate", "revenue_per_impression"]) {
      const c = variant.comparisons.find((x: { metric: string }) => x.metric === metric);
      assert.notEqual(c.verdict, "worse", metric);
    }
    const unknown = await stack.api.call("GET", "/v1/recommenders/experiments/nope/metrics", {
      scope: "read",
    });
    assert.equal(unknown.status, 404);
    const backwards = await stack.api.call(
      "GET",
      "/v1/recommenders/metrics?from=2026-05-02T00:00:00Z&to=2026-05-01T00:00:00Z",
      { scope: "read" },
    );
    assert.equal(backwards.status, 400);
    assert.deepEqual(backwards.body.errors, [
      { field: "from", rule: "must be before to", received: "2026-05-02T00:00:00Z" },
    ]);
  });

  it("the dashboard page shows the metrics per model, source and variant and the verdict (Chromium)", async () => {
    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const cspViolations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${stack.api.base}/dashboard/recommenders#experiment=rankers`);
    await page.fill("#k", String(N));
    await page.fill("#api-key", TEST_KEYS.read);
    await page.click("#key-form button");

    const allRow = page.locator('table[data-dimension="all"] tr[data-value="all"]');
    await allRow.waitFor();
    const cell = (row: typeof allRow, col: string) => row.locator(`td[data-col="${col}"]`).innerText();
    assert.equal(await cell(allRow, "lists"), String(USERS));
    assert.equal(await cell(allRow, "clicks-k"), String(sent.clicks));
    assert.equal(await cell(allRow, "conversions"), String(sent.purchases));
    assert.match(
      await cell(allRow, "ctr"),
      new RegExp(`^${((sent.clicks / (USERS * N)) * 100).toFixed(2)}%`),
    );
    assert.equal(await cell(allRow, "attribution"), `${sent.explicit} / ${sent.window}`);
    const model7 = page.locator('table[data-dimension="model_version"] tr[data-value="7"]');
    assert.equal(await cell(model7, "clicks-k"), String(sent.clicksByVariant.get("control")));
    assert.ok((await page.locator('table[data-dimension="source"] tr[data-value]').count()) >= 1);
    assert.equal(await page.locator('table[data-dimension="experiment:rankers"] tr[data-value]').count(), 2);

    await page.getByTestId("recommender-verdict").waitFor();
    assert.equal(await page.getByTestId("recommender-verdict").innerText(), "Verdict: adopt heuristic");
    assert.equal(
      await page
        .locator(
          '[data-testid="verdict-table"] tr[data-variant="heuristic"][data-metric="ctr_at_k"] td[data-col="verdict"]',
        )
        .innerText(),
      "better",
    );
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.deepEqual(cspViolations, []);
  });
});
