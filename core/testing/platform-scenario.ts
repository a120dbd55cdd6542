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
export const SCENARIO_ITEMS = 30;
const CATEGORIES = ["books", "music", "games"];
const EXPERIMENT = "embedded-proof";

export interface Written {
  /** Event ids the API acknowledged (accepted or duplicate). */
  acknowledged: string[];
  /** The position token of the last write. */
  position: string;
}

export interface Answers {
  /** `x-reckon-position-reached` of the read waiting on the last write's position. */
  positionReached: string | null;
  /** Each asked user's recommended items (prefix removed) with their scores, in the order answered. */
  recommendations: Record<string, { item: string; score: number }[]>;
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

/** Catalog, an experiment, and events (exposures, views, purchases); returns what was acknowledged. */
export async function writeScenario(target: PlatformTarget, prefix: string, seed: number): Promise<Written> {
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

  // Event times from the experiment's start on, a millisecond apart (results count exposures after the start).
  const base = Date.now();
  const events: object[] = [];
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
  const acknowledged: string[] = [];
  let position = "";
  for (let i = 0; i < events.length; i += 100) {
    const res = await call(target, "POST", "/v1/events", "write", { events: events.slice(i, i + 100) });
    expectStatus(res, [200], "events");
    for (const r of res.body.results as { event_id: string; status: string }[])
      if (r.status === "accepted" || r.status === "duplicate") acknowledged.push(r.event_id);
    if (res.body.position) position = res.body.position as string;
  }
  return { acknowledged, position };
}

/** Reads back what the projections made of the scenario (waiting for the analytics projection to catch up). */
export async function readScenario(
  target: PlatformTarget,
  prefix: string,
  written: Pick<Written, "position">,
  timeoutMs = 120_000,
): Promise<Answers> {
  const users = [0, 1, 2, 3, 10, 25].map((u) => `${prefix}user-${u}`);
  const first = await call(
    target,
    "GET",
    `/v1/recommendations/${users[0]}?n=5&min_position=${encodeURIComponent(written.position)}`,
    "read",
  );
  expectStatus(first, [200], "recommendations with min_position");
  const recommendations: Answers["recommendations"] = {};
  for (const user of users) {
    const res = await call(target, "GET", `/v1/recommendations/${user}?n=5`, "read");
    expectStatus(res, [200], "recommendations");
    recommendations[user.slice(prefix.length)] = (res.body.items as { item_id: string; score: number }[]).map(
      (i) => ({ item: i.item_id.slice(prefix.length), score: i.score }),
    );
  }

  const key = `${prefix}${EXPERIMENT}`;
  const deadline = Date.now() + timeoutMs;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let results: any;
  for (;;) {
    const res = await call(target, "GET", `/v1/experiments/${key}/results?cumulative=false`, "read");
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
