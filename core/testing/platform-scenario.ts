/**
 * One deterministic workload driven through a running platform's public interfaces only (HTTP API and the
 * ClickHouse-compatible endpoint), so the same input can be run on the embedded stores and on the servers and
 * the answers compared, and so the embedded proof can check a restart kept every acknowledged event.
 * `prefix` keeps names apart on a shared stack; answers are reported without it.
 */

export interface PlatformTarget {
  api: string;
  keys: { read: string; write: string; admin: string };
  clickhouse?: { url: string; user: string; password: string };
}

export const SCENARIO_USERS = 60;
/** Users the scenario asks recommendations for: warm ones of both variants, and two it never wrote events of. */
export const ASKED_USERS = [
  "user-0",
  "user-1",
  "user-2",
  "user-3",
  "user-10",
  "user-25",
  "cold-user-1",
  "cold-user-2",
];
/** Items whose similar items and item detail (counts, decayed popularity) the scenario reads. */
export const ASKED_ITEMS = ["item-0", "item-5", "item-12", "item-25"];
export const SCENARIO_ITEMS = 30;
const CATEGORIES = ["books", "music", "games"];
const EXPERIMENT = "embedded-proof";

export interface Written {
  /** Event ids the API acknowledged (accepted or duplicate). */
  acknowledged: string[];
  /** The position token of the last write. */
  position: string;
  /** With a fixed clock: the first event's time, where the experiment's analysis starts (see ScenarioOptions). */
  analysisFrom?: string;
}

export interface Answers {
  /** `x-reckon-position-reached` of the read waiting on the last write's position. */
  positionReached: string | null;
  /** Each asked user's recommended items (prefix removed) with their scores, in the order answered. */
  recommendations: Record<string, { item: string; score: number }[]>;
  /** Each asked item's similar items (prefix removed) with their scores, in the order answered. */
  similar: Record<string, { item: string; score: number }[]>;
  /** Each asked user's decayed category affinities, as `GET /v1/users/:id/features` answers them. */
  affinities: Record<string, { category: string; score: number }[]>;
  /** Each asked item's interaction counts and decayed popularity, as its item detail reports them. */
  itemStats: Record<string, unknown>;
  /** The experiment's users per variant and its purchase-rate statistics. */
  experiment: {
    users: Record<string, number>;
    control: { users: number; mean: number };
    treatment: { users: number; mean: number; relative: number; pValue: number; chanceToWin: number };
  };
  /**
   * Distinct events per type the ClickHouse endpoint reports (undefined without an endpoint); distinct because
   * a redelivered event is a second row until ClickHouse merges it away (ReplacingMergeTree).
   */
  clickhouseEventsByType: Record<string, number> | undefined;
}

async function call(
  target: PlatformTarget,
  method: string,
  path: string,
  scope: keyof PlatformTarget["keys"],
  body?: unknown,
  headers: Record<string, string> = {},
  // The answers' shapes are checked by their own specs; here only the fields read below matter.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${target.api}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${target.keys[scope]}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

function expectStatus(res: { status: number; body: unknown }, wanted: number[], what: string): void {
  if (!wanted.includes(res.status))
    throw new Error(`${what}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
}

/** A stable UUID per (run, index), so a resent batch is recognised as duplicates. */
function eventId(seed: number, i: number): string {
  const hex = (seed * 1_000_003 + i).toString(16).padStart(12, "0").slice(-12);
  return `00000000-0000-4000-8000-${hex}`;
}

export interface ScenarioOptions {
  /**
   * The platform runs with RECKON_FIXED_CLOCK at this instant (ms): business time stands still there, so every
   * read is evaluated there and runs given the same instant give the same answers. The events are then spread
   * over the hours before it, and the experiment (started at the instant itself) is analysed from the first
   * event on. Without it, events follow the wall clock from the experiment's start, a millisecond apart.
   */
  fixedClockMs?: number;
}

/** With a fixed clock, the time between two events: four minutes, about 30 hours for the whole scenario. */
const FIXED_CLOCK_SPACING_MS = 240_000;

/** Catalog, an experiment, and events (exposures, views, purchases); returns what was acknowledged. */
export async function writeScenario(
  target: PlatformTarget,
  prefix: string,
  seed: number,
  options: ScenarioOptions = {},
): Promise<Written> {
  const items = Array.from({ length: SCENARIO_ITEMS }, (_, i) => ({
    item_id: `${prefix}item-${i}`,
    title: `Item ${i}`,
    categories: [CATEGORIES[i % CATEGORIES.length]!],
  }));
  expectStatus(await call(target, "PUT", "/v1/items", "write", { items }), [200, 207], "catalog");

  const key = `${prefix}${EXPERIMENT}`;
  const created = await call(target, "POST", "/v1/experiments", "admin", {
    key,
    name: "Embedded proof",
    variants: [
      { key: "control", weight: 0.5 },
      { key: "treatment", weight: 0.5 },
    ],
    control: "control",
    metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase", window_hours: 72 }],
  });
  expectStatus(created, [201], "experiment create");
  expectStatus(
    await call(target, "POST", `/v1/experiments/${key}/start`, "admin", undefined, { "if-match": '"1"' }),
    [200],
    "experiment start",
  );

  // Event times a millisecond apart from the experiment's start on (results count exposures from the start); with
  // a fixed clock they are spread over the time before it instead (below).
  const base = Date.now();
  const events: Record<string, unknown>[] = [];
  let n = 0;
  const at = () => new Date(base + n).toISOString();
  for (let u = 0; u < SCENARIO_USERS; u++) {
    const user = `${prefix}user-${u}`;
    const variant = u % 2 === 0 ? "control" : "treatment";
    events.push({
      event_id: eventId(seed, n),
      type: "exposure",
      user_id: user,
      timestamp: at(),
      experiment: { key, variant },
    });
    n++;
    for (let v = 0; v < 6; v++) {
      const item = `${prefix}item-${(u * 7 + v * 3) % SCENARIO_ITEMS}`;
      events.push({
        event_id: eventId(seed, n),
        type: "view",
        user_id: user,
        item_id: item,
        timestamp: at(),
      });
      n++;
    }
    const converts = variant === "treatment" ? u % 3 !== 0 : u % 4 === 0;
    if (converts) {
      const item = `${prefix}item-${(u * 5) % SCENARIO_ITEMS}`;
      events.push({
        event_id: eventId(seed, n),
        type: "purchase",
        user_id: user,
        item_id: item,
        value: 10 + (u % 7),
        timestamp: at(),
      });
      n++;
    }
  }
  // With a fixed clock the experiment starts at the instant itself, so the events precede it: FIXED_CLOCK_SPACING_MS
  // apart, the last one just before it, spanning more than one decay window of the short popularity half-life (6 h,
  // 24 h windows) so that reads combine windows and decay weighs events differently. Results are read from the
  // first event (analysisFrom).
  const first =
    options.fixedClockMs === undefined ? base : options.fixedClockMs - events.length * FIXED_CLOCK_SPACING_MS;
  if (options.fixedClockMs !== undefined)
    events.forEach((e, i) => (e.timestamp = new Date(first + i * FIXED_CLOCK_SPACING_MS).toISOString()));
  const acknowledged: string[] = [];
  let position = "";
  for (let i = 0; i < events.length; i += 100) {
    const res = await call(target, "POST", "/v1/events", "write", { events: events.slice(i, i + 100) });
    expectStatus(res, [200], "events");
    for (const r of res.body.results as { event_id: string; status: string }[])
      if (r.status === "accepted" || r.status === "duplicate") acknowledged.push(r.event_id);
    if (res.body.position) position = res.body.position as string;
  }
  return {
    acknowledged,
    position,
    ...(options.fixedClockMs === undefined ? {} : { analysisFrom: new Date(first).toISOString() }),
  };
}

/** Reads back what the projections made of the scenario (waiting for the analytics projection to catch up). */
export async function readScenario(
  target: PlatformTarget,
  prefix: string,
  written: Pick<Written, "position" | "analysisFrom">,
  timeoutMs = 120_000,
): Promise<Answers> {
  const deadline = Date.now() + timeoutMs;
  const users = ASKED_USERS.map((u) => `${prefix}${u}`);
  const token = encodeURIComponent(written.position);
  const first = await call(
    target,
    "GET",
    `/v1/recommendations/${users[0]}?n=5&min_position=${token}`,
    "read",
  );
  expectStatus(first, [200], "recommendations with min_position");
  // The answers below are compared exactly between runs: read them only once the online read models (and, for
  // item details, the catalog read models) hold every written event. The first answer's header is reported.
  for (let reached = first.headers.get("x-reckon-position-reached"); reached !== "true";) {
    if (Date.now() > deadline) throw new Error(`online read models did not reach ${written.position}`);
    const again = await call(
      target,
      "GET",
      `/v1/recommendations/${users[0]}?n=5&min_position=${token}`,
      "read",
    );
    expectStatus(again, [200], "recommendations with min_position");
    reached = again.headers.get("x-reckon-position-reached");
  }
  const scored = (items: { item_id: string; score: number }[]) =>
    items.map((i) => ({ item: i.item_id.slice(prefix.length), score: i.score }));
  const recommendations: Answers["recommendations"] = {};
  const affinities: Answers["affinities"] = {};
  for (const user of users) {
    const res = await call(target, "GET", `/v1/recommendations/${user}?n=5`, "read");
    expectStatus(res, [200], "recommendations");
    recommendations[user.slice(prefix.length)] = scored(res.body.items);
    const features = await call(target, "GET", `/v1/users/${user}/features`, "read");
    expectStatus(features, [200], "user features");
    affinities[user.slice(prefix.length)] = features.body.affinities;
  }
  const similar: Answers["similar"] = {};
  const itemStats: Answers["itemStats"] = {};
  for (const item of ASKED_ITEMS.map((i) => `${prefix}${i}`)) {
    const res = await call(target, "GET", `/v1/items/${item}/similar?n=5`, "read");
    expectStatus(res, [200], "similar items");
    similar[item.slice(prefix.length)] = scored(res.body.items);
    for (;;) {
      const detail = await call(target, "GET", `/v1/items/${item}/detail?min_position=${token}`, "read");
      expectStatus(detail, [200], "item detail");
      if (detail.headers.get("x-reckon-position-reached") === "true") {
        itemStats[item.slice(prefix.length)] = detail.body.stats;
        break;
      }
      if (Date.now() > deadline) throw new Error(`item detail of ${item} did not reach ${written.position}`);
    }
  }

  const key = `${prefix}${EXPERIMENT}`;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let results: any;
  for (;;) {
    const from = written.analysisFrom ? `&from=${encodeURIComponent(written.analysisFrom)}` : "";
    const res = await call(target, "GET", `/v1/experiments/${key}/results?cumulative=false${from}`, "read");
    // 503 while the analytics store is still being set up after a start.
    expectStatus(res, Date.now() > deadline ? [200] : [200, 503], "experiment results");
    results = res.body;
    const total =
      res.status === 200
        ? Object.values(results.users as Record<string, number>).reduce((s, x) => s + x, 0)
        : 0;
    if (total === SCENARIO_USERS) break;
    if (Date.now() > deadline) throw new Error(`experiment results: ${total} of ${SCENARIO_USERS} users`);
    await new Promise((r) => setTimeout(r, 500));
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rate = (results.metrics as any[]).find((m) => m.key === "purchase-rate");
  const treatment = rate.variants[0];

  let clickhouseEventsByType: Record<string, number> | undefined;
  if (target.clickhouse) {
    const sql = `SELECT type, count() AS n FROM reckon.events WHERE user_id LIKE '${prefix}user-%' GROUP BY type ORDER BY type FORMAT JSONEachRow`;
    const res = await fetch(`${target.clickhouse.url}/?query=${encodeURIComponent(sql)}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${target.clickhouse.user}:${target.clickhouse.password}`).toString("base64")}`,
      },
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`ClickHouse endpoint: HTTP ${res.status} ${text}`);
    clickhouseEventsByType = Object.fromEntries(
      text
        .trim()
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as { type: string; n: string | number })
        .map((r) => [r.type, Number(r.n)]),
    );
  }

  return {
    positionReached: first.headers.get("x-reckon-position-reached"),
    recommendations,
    similar,
    affinities,
    itemStats,
    experiment: {
      users: results.users,
      control: { users: rate.control.users, mean: rate.control.mean },
      treatment: {
        users: treatment.users,
        mean: treatment.mean,
        relative: treatment.relative.estimate,
        pValue: treatment.relative.p_value,
        chanceToWin: treatment.bayesian.chance_to_win,
      },
    },
    clickhouseEventsByType,
  };
}
