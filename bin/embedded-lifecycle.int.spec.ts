// Erasure, retraction and as_of on the embedded composition (`reckon start` with no store URL: PGlite, the
// Postgres-tail log transport, the in-process projection store, chdb), driven through the platform's HTTP API
// and ClickHouse-compatible endpoint, then checked in its data directory once it stopped: the erased user is
// gone from the log, the projection store and the ClickHouse tables and totals, and stays gone after a rebuild
// of every projection; a retracted mixed batch leaves features and analytics equal to a projection of the log
// without it; as_of answers equal replays stopped at that time.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { TEST_KEYS } from "../core/testing/http.ts";
import { startReckonProcess, type ReckonProcess } from "../core/testing/reckon-process.ts";
import { openDatabase, type Database } from "../core/postgres/database.ts";
import { openClickHouse } from "../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../core/clickhouse/port.ts";
import { toLogPosition } from "../core/event-store/log-reader.ts";
import { parsePositionToken } from "../core/contracts/position.ts";
import type { ProjectionStore } from "../core/projection-store/port.ts";
import { DEFAULT_KEY_PREFIX } from "../core/read-models/keys.ts";
import { DEFAULT_FEATURES_CONFIG } from "../core/read-models/features-config.ts";
import type { ExistingExperiment } from "../ingest/experiments/index.ts";
import { openProjectionStore } from "../projectors/store/open.ts";
import { createFeaturesProjection } from "../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../projectors/recommendations/projection.ts";
import { FeaturesReader } from "../projectors/features/read.ts";
import { replayProjection } from "../projectors/runtime/replay.ts";
import { replayAnalytics } from "../projectors/analytics/replay.ts";
import { ANALYTICS_DATABASE } from "../projectors/analytics/migrate.ts";
import { inDatabase } from "../projectors/analytics/as-of.ts";
import { clickHouseStatistics } from "../analytics/experiments/clickhouse-statistics.ts";
import { readWholeLog, withoutRetracted } from "../core/testing/log.ts";

const root = mkdtempSync(path.join(tmpdir(), "reckon-embedded-lifecycle-"));
const dataDir = path.join(root, "data");
const PASSWORD = "embedded-lifecycle-password";
const EXPERIMENT = "lifecycle";
const USERS = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "bot"];
const VICTIM = "victim";
const ITEMS = ["i0", "i1", "i2", "i3", "i4", "i5"];
const CATEGORIES = ["books", "music", "games"];
/**
 * The victim's only item, in a category of its own: the item counts, trending and co-occurrence a user
 * contributed to are anonymous and lose the user's share at the next rebuild only (docs/operations/
 * data-lifecycle.md), so the retraction's comparison with a projection of the log leaves it out.
 */
const VICTIM_ITEM = "iv";
const VICTIM_CATEGORY = "private";
/** The ClickHouse tables that hold users. */
const USER_TABLES = ["events", "first_exposures", "experiment_user_totals", "user_events"];

/** `reckon start` with no store URL: every store embedded under the data directory. */
const EMBEDDED_ENV: Record<string, string> = {
  RECKON_DATA_DIR: dataDir,
  PORT: "0",
  HOST: "127.0.0.1",
  CLICKHOUSE_HTTP_PORT: "0",
  CLICKHOUSE_HTTP_PASSWORD: PASSWORD,
  RECKON_WRITE_KEYS: TEST_KEYS.write,
  RECKON_READ_KEYS: TEST_KEYS.read,
  RECKON_ADMIN_KEYS: TEST_KEYS.admin,
  RECKON_TRAIN_INTERVAL_MINUTES: "0",
  LOG_LEVEL: "info",
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; body: any };

async function call(
  api: string,
  method: string,
  route: string,
  scope: keyof typeof TEST_KEYS,
  body?: unknown,
) {
  const res = await fetch(`${api}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_KEYS[scope]}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed } as Answer;
}

function ok(answer: Answer, status: number, what: string): Answer {
  assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body).slice(0, 800)}`);
  return answer;
}

let sequence = 0;
const base = Date.now();
function event(user: string, type: string, item?: string, variant?: string) {
  const n = ++sequence;
  return {
    event_id: `00000000-0000-4000-8d00-${n.toString(16).padStart(12, "0")}`,
    type,
    user_id: user,
    ...(item ? { item_id: item } : {}),
    ...(type === "purchase" ? { value: 10 + (n % 5) } : {}),
    ...(variant ? { experiment: { key: EXPERIMENT, variant } } : {}),
    // Made when sent: after the experiment's start, and the first batch's before the as_of time.
    timestamp: new Date().toISOString(),
  };
}

/**
 * What serving reads from the features model at `atMs` (the recent lists only a rebuild makes exact left out;
 * the victim's item left out of the trending lists).
 */
async function featureReads(reader: FeaturesReader, atMs: number) {
  const users = await Promise.all(
    [...USERS, VICTIM].map(async (u) => {
      const f = await reader.getUserFeatures(u, atMs);
      return { user_id: f.user_id, counts: f.counts, affinities: f.affinities };
    }),
  );
  const items = await Promise.all(ITEMS.map((i) => reader.getItemPopularity(i, atMs)));
  const trending = await Promise.all(
    [undefined, ...CATEGORIES].flatMap((c) => [
      reader.getTrending(c, 50, "short", atMs),
      reader.getTrending(c, 50, "long", atMs),
    ]),
  );
  return { users, items, trending: trending.map((list) => list.filter((i) => i.item_id !== VICTIM_ITEM)) };
}

/**
 * The statistics without which path computed them: the replayed tables carry per-user totals, the as_of
 * scratch tables only events, and both must give the same numbers.
 */
function withoutSource<T extends { computedFrom?: unknown }>(statistics: T): Omit<T, "computedFrom"> {
  const { computedFrom: _source, ...numbers } = statistics;
  return numbers;
}

async function rowsOf(ch: ClickHouseStore, database: string, user: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of USER_TABLES) {
    const [row] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${database}.${table} WHERE user_id = {u:String}`,
      { u: user },
    );
    out[table] = Number(row!.n);
  }
  return out;
}

/** The per-user experiment totals of `database`, as results read them. */
async function totals(ch: ClickHouseStore, database: string) {
  return ch.query(
    `SELECT user_id, variant, post, pre, den FROM ${database}.experiment_user_totals FINAL
      WHERE experiment_key = {k:String} ORDER BY user_id`,
    { k: EXPERIMENT },
  );
}

describe("erasure, retraction and as_of on the embedded composition", () => {
  let reckon: ReckonProcess | undefined;
  /** Between the first batch and the rest: the as_of time. */
  let asOf: Date;
  const retracted: string[] = [];
  const answers: {
    erasure?: Answer;
    retraction?: Answer;
    experiment?: ExistingExperiment;
    featuresAsOf: Record<string, unknown>;
    resultsAsOf?: Answer;
    victimLive?: Answer;
    victimEndpoint?: Record<string, number>;
  } = { featuresAsOf: {} };

  before(async () => {
    reckon = await startReckonProcess({ env: EMBEDDED_ENV });
    const api = reckon.api;
    const items = [
      ...ITEMS.map((item_id, i) => ({
        item_id,
        title: item_id,
        categories: [CATEGORIES[i % CATEGORIES.length]!],
      })),
      { item_id: VICTIM_ITEM, title: VICTIM_ITEM, categories: [VICTIM_CATEGORY] },
    ];
    ok(await call(api, "PUT", "/v1/items", "write", { items }), 200, "catalog");
    ok(
      await call(api, "POST", "/v1/experiments", "admin", {
        key: EXPERIMENT,
        name: "Lifecycle",
        variants: [
          { key: "control", weight: 0.5 },
          { key: "treatment", weight: 0.5 },
        ],
        control: "control",
        metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase", window_hours: 72 }],
      }),
      201,
      "experiment create",
    );
    const started = await fetch(`${api}/v1/experiments/${EXPERIMENT}/start`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_KEYS.admin}`, "if-match": '"1"' },
    });
    assert.equal(started.status, 200, await started.text());
    const send = async (events: object[]) =>
      ok(await call(api, "POST", "/v1/events", "write", { events }), 200, "events").body.position as string;

    // First batch: every user exposed, views, some purchases; the victim among them.
    const item = (user: string, i: number) => (user === VICTIM ? VICTIM_ITEM : ITEMS[i % ITEMS.length]);
    const first = [...["u0", "u1", "u2", "u3", "u4", "u5"], VICTIM].flatMap((user, u) => [
      event(user, "exposure", undefined, u % 2 === 0 ? "control" : "treatment"),
      event(user, "view", item(user, u)),
      event(user, "view", item(user, u + 2)),
      ...(u % 3 === 0 ? [event(user, "purchase", item(user, u + 1))] : []),
    ]);
    await send(first);
    await new Promise((r) => setTimeout(r, 50));
    asOf = new Date();
    await new Promise((r) => setTimeout(r, 50));
    // The batch to take back: a bot, a new exposed user, and named users' purchases and carts.
    const mixed = [
      ...Array.from({ length: 8 }, (_, i) => event("bot", i % 3 ? "view" : "click", ITEMS[i % 3])),
      event("u6", "exposure", undefined, "treatment"),
      event("u6", "purchase", "i4"),
      event("u1", "purchase", "i5"),
      event("u2", "add_to_cart", "i1"),
      event("u3", "click", "i3"),
    ];
    retracted.push(...mixed.map((e) => e.event_id));
    await send(mixed);
    // After it: more traffic, the victim's too.
    await send([
      event("u0", "view", "i3"),
      event("u4", "purchase", "i2"),
      event(VICTIM, "click", VICTIM_ITEM),
    ]);

    answers.retraction = ok(
      await call(api, "POST", "/v1/retractions", "admin", { event_ids: retracted, reason: "test batch" }),
      201,
      "retraction",
    );
    answers.erasure = ok(await call(api, "DELETE", `/v1/users/${VICTIM}`, "admin"), 200, "erasure");
    const head = (await send([event("u5", "view", "i1")])) ?? "";

    // Every projection (features, recommendations, analytics, ...) applied the whole log.
    const deadline = Date.now() + 300_000;
    for (;;) {
      const status = ok(await call(api, "GET", "/v1/status", "read"), 200, "status").body as {
        head: string;
        projectors: { name: string; lag: number }[];
      };
      const caughtUp = status.projectors.every((p) => p.lag === 0);
      if (caughtUp && parsePositionToken(status.head)!.position >= parsePositionToken(head)!.position) break;
      assert.ok(Date.now() < deadline, `projectors did not catch up: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    answers.victimLive = ok(await call(api, "GET", `/v1/users/${VICTIM}/features`, "read"), 200, "features");
    for (const user of [...USERS, VICTIM])
      answers.featuresAsOf[user] = ok(
        await call(api, "GET", `/v1/users/${user}/features?as_of=${asOf.toISOString()}`, "read"),
        200,
        "features as_of",
      ).body;
    answers.resultsAsOf = ok(
      await call(
        api,
        "GET",
        `/v1/experiments/${EXPERIMENT}/results?cumulative=false&as_of=${asOf.toISOString()}`,
        "read",
      ),
      200,
      "results as_of",
    );
    answers.experiment = ok(
      await call(api, "GET", `/v1/experiments/${EXPERIMENT}`, "read"),
      200,
      "experiment",
    ).body as ExistingExperiment;
    answers.victimEndpoint = {};
    for (const table of USER_TABLES) {
      const sql = `SELECT count() AS n FROM ${ANALYTICS_DATABASE}.${table} WHERE user_id = '${VICTIM}' FORMAT JSONEachRow`;
      const res = await fetch(`${reckon.clickhouse!}/?query=${encodeURIComponent(sql)}`, {
        headers: { authorization: `Basic ${Buffer.from(`analyst:${PASSWORD}`).toString("base64")}` },
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      answers.victimEndpoint[table] = Number((JSON.parse(text) as { n: string | number }).n);
    }
    await reckon.stop();
    reckon = undefined;
  });

  let db: Database | undefined;
  let store: ProjectionStore | undefined;
  let ch: ClickHouseStore | undefined;
  const opened = async () => {
    db ??= openDatabase(`pglite://${path.join(dataDir, "postgres")}`);
    store ??= await openProjectionStore(`memory://${path.join(dataDir, "projections")}`);
    ch ??= await openClickHouse(`chdb://${path.join(dataDir, "clickhouse")}`);
    return { db, store, ch };
  };

  /** Releases the data directory's stores, so that a platform can open them again. */
  const closeStores = async () => {
    await store?.close();
    await ch?.close();
    await db?.close();
    store = undefined;
    ch = undefined;
    db = undefined;
  };

  /** Waits until every projection has applied the whole log and none is rebuilding. */
  const caughtUp = async (api: string) => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const status = ok(await call(api, "GET", "/v1/status", "read"), 200, "status").body as {
        projectors: { lag: number; read_model?: { state: string } }[];
      };
      if (status.projectors.every((p) => p.lag === 0 && p.read_model?.state !== "rebuilding")) return status;
      assert.ok(Date.now() < deadline, `projectors did not catch up: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  after(async () => {
    await reckon?.stop();
    await closeStores();
    rmSync(root, { recursive: true, force: true });
  });

  it("erases the user from the log, the projection store, ClickHouse and the totals", async () => {
    const receipt = answers.erasure!.body as { users: { user_id: string; postgres_events: number }[] };
    assert.equal(receipt.users[0]!.user_id, VICTIM);
    assert.equal(
      receipt.users[0]!.postgres_events,
      5,
      "the victim's exposure, two views, a purchase, a click",
    );
    const live = answers.victimLive!.body as { counts: object; recent: unknown[]; affinities: unknown[] };
    assert.deepEqual([live.counts, live.recent, live.affinities], [{}, [], []]);
    assert.deepEqual(answers.victimEndpoint, {
      events: 0,
      first_exposures: 0,
      experiment_user_totals: 0,
      user_events: 0,
    });

    const { db, store, ch } = await opened();
    const log = await readWholeLog(db);
    assert.ok(log.length > 30);
    assert.deepEqual(
      log.filter((m) => m.kind === "interaction" && m.event.user_id === VICTIM),
      [],
    );
    const keys = await store.keysByPrefix(`${DEFAULT_KEY_PREFIX}:`);
    assert.ok(
      keys.some((k) => k.includes("{u:u0}")),
      "other users keep their keys",
    );
    assert.deepEqual(
      keys.filter((k) => k.includes(`{u:${VICTIM}}`)),
      [],
    );
    assert.deepEqual(await rowsOf(ch, ANALYTICS_DATABASE, VICTIM), {
      events: 0,
      first_exposures: 0,
      experiment_user_totals: 0,
      user_events: 0,
    });
  });

  it("retracting a mixed batch leaves features and analytics equal to a projection of the log without it", async () => {
    const outcome = answers.retraction!.body as { retracted: number };
    assert.equal(outcome.retracted, retracted.length);
    const { db, store, ch } = await opened();
    const log = await readWholeLog(db);
    const at = base + 3_600_000;

    const expectedPrefix = "rk_expected";
    await createFeaturesProjection(store, { prefix: expectedPrefix }).applyMessages(
      withoutRetracted(log),
      "log",
    );
    assert.deepEqual(
      await featureReads(new FeaturesReader(store), at),
      await featureReads(new FeaturesReader(store, expectedPrefix), at),
    );

    const head = toLogPosition(log[log.length - 1]!);
    const side = await replayAnalytics({ db, clickhouse: ch, topic: "t", partitions: 1, to: head });
    const statistics = async (database: string) =>
      withoutSource(
        await clickHouseStatistics(async () => inDatabase(ch, database))(answers.experiment!, {
          now: new Date(at),
          cumulative: false,
          open: true,
        }),
      );
    assert.deepEqual(await statistics(ANALYTICS_DATABASE), await statistics(side.database));
    assert.deepEqual(await totals(ch, ANALYTICS_DATABASE), await totals(ch, side.database));
    assert.deepEqual(
      (await totals(ch, ANALYTICS_DATABASE)).map((r) => (r as { user_id: string }).user_id),
      ["u0", "u1", "u2", "u3", "u4", "u5"],
      "u6, exposed only in the retracted batch, and the victim are in no experiment total",
    );
    await ch.command(`DROP DATABASE ${side.database} SYNC`);
  });

  it("as_of answers equal replays stopped at that time", async () => {
    const { db, store, ch } = await opened();
    const { rows } = await db.query<{ transaction_id: string; position: number }>(
      `SELECT transaction_id::text AS transaction_id, position FROM events WHERE received_at <= $1
        ORDER BY transaction_id DESC, position DESC LIMIT 1`,
      [asOf],
    );
    const to = { transactionId: BigInt(rows[0]!.transaction_id), position: Number(rows[0]!.position) };
    const features = createFeaturesProjection(store);
    const built = await replayProjection({ db, projection: features, topic: "t", partitions: 1, to });
    const replayed = new FeaturesReader(store, DEFAULT_KEY_PREFIX, DEFAULT_FEATURES_CONFIG, built.version);
    let counted = 0;
    for (const user of [...USERS, VICTIM]) {
      const { as_of: at, ...answer } = answers.featuresAsOf[user] as { as_of: string };
      assert.equal(at, asOf.toISOString());
      assert.deepEqual(answer, await replayed.getUserFeatures(user, asOf.getTime()), user);
      counted += Object.keys((answer as { counts: object }).counts).length;
    }
    assert.ok(counted > 0, "users had counts at that time");
    const bot = answers.featuresAsOf.bot as { counts: object };
    assert.deepEqual(bot.counts, {}, "the bot's events came after");

    const request = { now: asOf, cumulative: false, open: true };
    const past = await replayAnalytics({ db, clickhouse: ch, topic: "t", partitions: 1, to });
    const statistics = clickHouseStatistics(async () => ch, db);
    assert.deepEqual(
      withoutSource(await statistics(answers.experiment!, { ...request, asOf })),
      withoutSource(
        await clickHouseStatistics(async () => inDatabase(ch, past.database))(answers.experiment!, request),
      ),
    );
    await ch.command(`DROP DATABASE ${past.database} SYNC`);
    // The results as of then count the users exposed by then, but the erased one: 3 and 3.
    assert.deepEqual(answers.resultsAsOf!.body.users, { control: 3, treatment: 3 });
  });

  it("a rebuild of every projection does not bring the erased user back", async () => {
    const { db, store, ch } = await opened();
    for (const projection of [createFeaturesProjection(store), createRecommendationsProjection(store)])
      await replayProjection({ db, projection, topic: "t", partitions: 1 });
    await replayAnalytics({ db, clickhouse: ch, topic: "t", partitions: 1 });
    const keys = await store.keysByPrefix(`${DEFAULT_KEY_PREFIX}:`);
    assert.ok(keys.some((k) => k.includes("{u:u0}")));
    assert.deepEqual(
      keys.filter((k) => k.includes(`{u:${VICTIM}}`)),
      [],
    );
    assert.deepEqual(await rowsOf(ch, ANALYTICS_DATABASE, VICTIM), {
      events: 0,
      first_exposures: 0,
      experiment_user_totals: 0,
      user_events: 0,
    });
    assert.ok((await rowsOf(ch, ANALYTICS_DATABASE, "u0")).events! > 0);
  });

  it("a restart on a wiped projection store rebuilds it from the log without the erased user or the batch", async () => {
    const { store } = await opened();
    const reader = new FeaturesReader(store);
    const counts: Record<string, object> = {};
    for (const user of [...USERS, VICTIM]) counts[user] = (await reader.getUserFeatures(user)).counts;
    assert.deepEqual([counts[VICTIM], counts.bot], [{}, {}]);
    await closeStores();
    rmSync(path.join(dataDir, "projections"), { recursive: true, force: true });

    reckon = await startReckonProcess({ env: EMBEDDED_ENV });
    // No event arrives after the restart: the loss is found when the consumers join, not at the next event.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const status = await caughtUp(reckon.api);
      const states = status.projectors
        .filter((p) => ["features", "recommendations"].includes((p as { name?: string }).name ?? ""))
        .map((p) => p.read_model?.state);
      if (states.length === 2 && states.every((state) => state === "rebuilt")) break;
      assert.ok(Date.now() < deadline, `the wiped read models were not rebuilt: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const user of [...USERS, VICTIM]) {
      const answer = ok(await call(reckon.api, "GET", `/v1/users/${user}/features`, "read"), 200, "features");
      assert.deepEqual(answer.body.counts, counts[user], user);
    }
    const victim = ok(await call(reckon.api, "GET", `/v1/users/${VICTIM}/features`, "read"), 200, "features");
    assert.deepEqual(victim.body.recent, []);
    await reckon.stop();
    reckon = undefined;
  });
});
