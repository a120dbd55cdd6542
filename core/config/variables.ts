import { z } from "zod";
import {
  brokerList,
  flag,
  instant,
  keyList,
  nameList,
  numberAtLeast,
  numberAbove0,
  oneOf,
  optional,
  parser,
  port,
  positiveNumber,
  redisUrl,
  required,
  text,
  urlWithScheme,
  wholeNumberAtLeast,
  wholeNumberBetween,
  withDefault,
} from "./variable.ts";

const ALL_ROLES = ["ingest", "relay", "projectors", "serving", "analytics"] as const;
/** The roles that serve HTTP and so check API keys. */
const HTTP_ROLES = ["ingest", "projectors", "serving", "analytics"] as const;
const STORE_COMMANDS = [
  "reckon migrate",
  "reckon import",
  "reckon replay",
  "reckon train",
  "reckon model",
] as const;

/**
 * Every environment variable Reckon reads, in one table: name, parser, default, description, secrecy, readers.
 * Start-up parses them all at once (`loadEnv`), reports every bad one together, and passes the typed values
 * down; nothing else reads the environment (core/config/env-reads.unit.spec.ts walks the code for it).
 * docs/reference/configuration.md is generated from this table (`npm run docs:config`).
 *
 * Adding a variable is one entry here; its typed value is then `env.NAME` on the `Env` every role receives.
 */
export const VARIABLES = {
  DATABASE_URL: required(urlWithScheme(["postgres://", "postgresql://", "pglite://"]), {
    description:
      "Postgres: the event log, catalog and experiment definitions, projection checkpoints, the model registry. A server (`postgres://`), or the embedded PGlite on a directory (`pglite://DIR`, one process per directory). Unset: PGlite in `RECKON_DATA_DIR/postgres`.",
    readers: [...ALL_ROLES, ...STORE_COMMANDS],
    secret: "url-password",
  }),
  KAFKA_BROKERS: optional(brokerList, {
    description:
      "Kafka brokers, `host:port` separated by commas (a leading `kafka://` is allowed). Unset: no Kafka; the projectors tail the Postgres log in process.",
    readers: [...ALL_ROLES, ...STORE_COMMANDS],
  }),
  REDIS_URL: optional(redisUrl, {
    description:
      "The projection store of the online read models: a single Redis (`redis://`, `rediss://`), a Redis Cluster (`redis-cluster://host:port,host:port`) or the in-process store (`memory://DIR`, one process per directory). Unset: the in-process store in `RECKON_DATA_DIR/projections`.",
    readers: ["projectors", "serving", "reckon replay", "reckon train", "reckon model"],
    secret: "url-password",
  }),
  CLICKHOUSE_URL: optional(urlWithScheme(["http://", "https://", "chdb://"]), {
    description:
      "ClickHouse of the analytics read models: a server (`http://`, `https://`) or the in-process engine on a data directory (`chdb://PATH`). Unset: the in-process engine, in `RECKON_DATA_DIR/clickhouse` when the database is embedded too, else in `.reckon/clickhouse`.",
    readers: ["projectors", "analytics", "reckon replay"],
    secret: "url-password",
  }),
  CLICKHOUSE_HTTP_PORT: withDefault(port, "8123", {
    description:
      "Loopback port of the ClickHouse-compatible HTTP endpoint served over the in-process engine (and where `reckon replay` looks for a running Reckon).",
    readers: ["analytics", "reckon replay"],
  }),
  CLICKHOUSE_HTTP_HOST: withDefault(text, "127.0.0.1", {
    description:
      "Address the ClickHouse-compatible endpoint binds (in-process engine only); loopback unless set.",
    readers: ["analytics"],
  }),
  CLICKHOUSE_HTTP_USER: withDefault(
    parser("user name", z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, _ . or -")),
    "analyst",
    {
      description:
        "The analyst user of the ClickHouse-compatible endpoint (read-only: SELECT-like statements only).",
      readers: ["analytics"],
    },
  ),
  CLICKHOUSE_HTTP_PASSWORD: optional(parser("string", z.string().min(16, "must be at least 16 characters")), {
    description:
      "Password of that user. With the in-process engine and none configured, `reckon start` generates one into `.reckon/keys.env`; without one the endpoint is not served.",
    readers: ["analytics"],
    secret: "value",
  }),
  CLICKHOUSE_HTTP_ALLOWED_ORIGINS: withDefault(
    parser(
      "origin list",
      z
        .string()
        .transform((s) =>
          s
            .split(",")
            .map((o) => o.trim())
            .filter((o) => o.length > 0),
        )
        .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, "each origin must be scheme://host[:port]"))),
    ),
    "",
    {
      description:
        "Web origins whose browser requests the ClickHouse-compatible endpoint serves, separated by commas; default none (CORS closed).",
      readers: ["analytics"],
    },
  ),
  RECKON_DATA_DIR: optional(text, {
    description:
      "Directory of the embedded stores (PGlite in `postgres/`, the projection store in `projections/`, chdb in `clickhouse/`) and of their lock `reckon.lock`; a relative path is taken from the working directory. Unset: `.reckon/data` in the checkout.",
    readers: [...ALL_ROLES, ...STORE_COMMANDS],
  }),
  RECKON_LOCAL_STACK: withDefault(flag, "0", {
    description:
      "1: with no store URL set, use the local server stack (`deploy/local-stack/stack.sh up`, brought up first, its URLs from `.reckon/stack.env`) instead of the embedded stores; `npm run start:stack` sets it.",
    readers: ["reckon start", ...STORE_COMMANDS],
  }),
  PORT: withDefault(port, "8080", {
    description: "Port of the HTTP API (every HTTP role of the process shares it; 0 picks a free port).",
    readers: ["reckon start"],
  }),
  HOST: withDefault(text, "0.0.0.0", {
    description: "Address the HTTP API listens on.",
    readers: ["reckon start"],
  }),
  RECKON_WRITE_KEYS: withDefault(keyList, "", {
    description:
      "API keys with the write scope (send events, change the catalog), separated by commas, each at least 16 characters. With no key of any scope configured, `reckon start` generates local keys into `.reckon/keys.env`.",
    readers: HTTP_ROLES,
    secret: "value",
  }),
  RECKON_READ_KEYS: withDefault(keyList, "", {
    description: "API keys with the read scope (recommendations, features, status, results), as above.",
    readers: HTTP_ROLES,
    secret: "value",
  }),
  RECKON_ADMIN_KEYS: withDefault(keyList, "", {
    description: "API keys with the admin scope (experiments, operations), as above.",
    readers: HTTP_ROLES,
    secret: "value",
  }),
  KAFKA_EVENTS_TOPIC: withDefault(text, "reckon.events.v1", {
    description: "Topic the relay publishes the event log to and the projectors consume.",
    readers: ["relay", "projectors", "serving", "reckon replay"],
  }),
  KAFKA_DLQ_TOPIC: withDefault(text, "reckon.events.dlq.v1", {
    description: "Dead-letter topic for records a projection refuses.",
    readers: ["projectors"],
  }),
  RECKON_LOG_TRANSPORT: withDefault(oneOf(["auto", "kafka", "postgres"]), "auto", {
    description:
      "How the projectors receive the event log: `kafka` (the relay publishes it; one consumer group per projection) or `postgres` (each projection tails the Postgres log directly; positions and dead letters in Postgres tables). `auto`: `kafka` when KAFKA_BROKERS is set, else `postgres`.",
    readers: ["projectors", "serving", "reckon replay"],
  }),
  KAFKA_PARTITIONS: withDefault(wholeNumberBetween(1, 1024), "3", {
    description:
      "Partitions the topics are created with when missing (the most projector processes per group).",
    readers: ["relay", "projectors", "reckon replay"],
  }),
  RECKON_MAX_EVENT_AGE_HOURS: withDefault(numberAbove0, "72", {
    description: "How far in the past (hours) the timestamp of a non-backfill event may be.",
    readers: ["ingest", "reckon import"],
  }),
  RECKON_MAX_CLOCK_SKEW_SECONDS: withDefault(numberAbove0, "300", {
    description: "How far in the future (seconds) a client's clock may be ahead.",
    readers: ["ingest", "reckon import"],
  }),
  RECKON_FIXED_CLOCK: optional(instant, {
    description:
      "For reproducible evaluation and tests only: business time stands still at this instant (ISO-8601 with a time zone). Decayed affinities, popularity and trending are read at it, merchandising rules are active at it, experiments start at it and event times are checked against it, so the same input gives the same recommendation lists and statistics whenever and wherever it runs. Caches, polls and timeouts keep the system clock. Refused when NODE_ENV is `production`. Unset: the system clock.",
    readers: ["ingest", "projectors", "serving", "analytics", "reckon replay"],
  }),
  RECKON_ANALYTICS_WRITE_INTERVAL_MS: withDefault(wholeNumberBetween(0, 60_000), "200", {
    description:
      "The least time (ms) between two analytics writes to ClickHouse; partition batches arriving meanwhile are combined.",
    readers: ["projectors"],
  }),
  RECKON_READ_REQUESTS_PER_SECOND: withDefault(wholeNumberAtLeast(0), "10000", {
    description:
      "Requests per second one API key may make to routes needing the read scope, per process (N workers or replicas allow N times it); beyond it `429` with `Retry-After`. 0: no limit.",
    readers: HTTP_ROLES,
  }),
  RECKON_WRITE_REQUESTS_PER_SECOND: withDefault(wholeNumberAtLeast(0), "5000", {
    description: "The same for routes needing the write scope.",
    readers: HTTP_ROLES,
  }),
  RECKON_ADMIN_REQUESTS_PER_SECOND: withDefault(wholeNumberAtLeast(0), "200", {
    description: "The same for routes needing the admin scope.",
    readers: HTTP_ROLES,
  }),
  RECKON_EVENTS_PER_SECOND: withDefault(
    parser(
      "0 or whole number ≥ 1000",
      z.coerce
        .number()
        .int()
        .refine((n) => n === 0 || n >= 1000, "must be 0 (no limit) or at least 1000 (the largest batch)"),
    ),
    "50000",
    {
      description:
        "Events per second one write key may send to `POST /v1/events`, per process (a batch of 500 costs 500). 0: no limit.",
      readers: ["ingest"],
    },
  ),
  RECKON_AUTH_FAILURE_LIMIT: withDefault(wholeNumberAtLeast(0), "30", {
    description:
      "Wrong API keys one source address may present per window; beyond it that source gets `429` before any key comparison. 0: no limit.",
    readers: HTTP_ROLES,
  }),
  RECKON_AUTH_FAILURE_WINDOW_SECONDS: withDefault(wholeNumberAtLeast(1), "60", {
    description: "The window of `RECKON_AUTH_FAILURE_LIMIT`, in seconds.",
    readers: HTTP_ROLES,
  }),
  RECKON_PROJECTIONS: optional(nameList("at least one projection name"), {
    description:
      "Projections the projectors role runs in this process, separated by commas (unset: all of `features`, `recommendations`, `analytics`, `search`, `item-detail`). Each is its own consumer group, so processes can share the work.",
    readers: ["projectors"],
  }),
  RECKON_REDIS_PREFIX: withDefault(text, "rk", {
    description:
      "Prefix of every Redis read-model key, so deployments (or tests) can share one Redis side by side.",
    readers: ["projectors", "serving", "reckon replay", "reckon train", "reckon model"],
  }),
  RECKON_PROJECTOR_GROUP_PREFIX: withDefault(text, "reckon.projector.", {
    description:
      "Prefix of the projectors' Kafka consumer groups (group = prefix + projection name); serving reads the groups' positions under the same prefix.",
    readers: ["projectors", "serving"],
  }),
  RECKON_PROJECTOR_ISOLATE_AFTER: withDefault(wholeNumberAtLeast(1), "3", {
    description:
      "Failed attempts of a batch before the projection's store is checked for health (then a bad message is isolated and dead-lettered).",
    readers: ["projectors"],
  }),
  RECKON_REDIS_SCRIPT_BUDGET_MS: withDefault(numberAtLeast(0, "must be a number of milliseconds ≥ 0"), "0", {
    description:
      "How long (ms) one Redis script call of a projection may hold Redis; a larger batch is split into calls sized from measured cost. 0: one call per consumer batch.",
    readers: ["projectors", "reckon replay"],
  }),
  RECKON_RECENT_CAP: withDefault(positiveNumber, "1000", {
    description:
      "Interactions kept per user (latest by event time); also the consumed-items record serving filters on.",
    readers: ["projectors", "serving", "reckon train"],
  }),
  RECKON_USER_TTL_DAYS: withDefault(positiveNumber, "30", {
    description: "Days after a user's last event until the user's read-model keys expire.",
    readers: ["projectors", "serving", "reckon replay", "reckon train"],
  }),
  RECKON_POPULARITY_SHORT_HALF_LIFE_HOURS: withDefault(positiveNumber, "6", {
    description: "Half-life (hours, event time) of the short-window item popularity (trending).",
    readers: ["projectors", "serving", "reckon train"],
  }),
  RECKON_POPULARITY_LONG_HALF_LIFE_HOURS: withDefault(positiveNumber, "168", {
    description: "Half-life (hours, event time) of the long-window item popularity.",
    readers: ["projectors", "serving", "reckon train"],
  }),
  RECKON_AFFINITY_HALF_LIFE_HOURS: withDefault(positiveNumber, "168", {
    description: "Half-life (hours, event time) of a user's category affinities.",
    readers: ["projectors", "serving", "reckon train"],
  }),
  RECKON_CONSUMED_TYPES: withDefault(nameList(), "view,click,add_to_cart,purchase,rating", {
    description:
      "Interaction types that count as consumed, separated by commas (a lone `,` for none): such items are never recommended to that user again.",
    readers: ["serving"],
  }),
  RECKON_NOT_INTERESTED_FACTOR: withDefault(
    parser(
      "number in (0, 1]",
      z.coerce.number({ error: "must be a number" }).gt(0, "must be above 0").max(1, "must be at most 1"),
    ),
    "0.5",
    {
      description:
        "How a `not_interested` event demotes for that user: the bury factor of the dismissed item's close neighbours, and per dismissal (at most 3) of its categories; 1 turns demotion off (the item itself is always removed).",
      readers: ["serving"],
    },
  ),
  RECKON_RULES_POLL_MS: withDefault(wholeNumberAtLeast(100), "5000", {
    description:
      "How often (ms) serving checks for changed merchandising rules, in case a notification was missed (changes are otherwise picked up on their NOTIFY).",
    readers: ["serving"],
  }),
  RECKON_CATEGORY_SHARE: withDefault(numberAtLeast(0), "0.5", {
    description: "The largest share of one recommendation list a single category may fill.",
    readers: ["serving"],
  }),
  RECKON_HISTORY_SEEDS: withDefault(numberAtLeast(1), "100", {
    description:
      "Recent distinct items of a user that seed neighbour retrieval (serving and training alike).",
    readers: ["serving", "reckon train"],
  }),
  RECKON_CANDIDATE_POOL: withDefault(numberAtLeast(1), "60", {
    description: "Candidates scored per request: the larger of this and 4 × the number asked for.",
    readers: ["serving"],
  }),
  RECKON_CANDIDATES_PER_SOURCE: withDefault(numberAtLeast(0), "20", {
    description:
      "Candidates each further source adds (the last item's neighbours, trending in the user's top category, trending, popular).",
    readers: ["serving"],
  }),
  RECKON_SEARCH_FACETS: withDefault(nameList(), ",", {
    description:
      "Catalog attributes `GET /v1/search` counts as facets, separated by commas (a lone `,` for none); categories are always a facet. Any attribute can be filtered on with `attr.KEY=VALUE`.",
    readers: ["serving"],
  }),
  RECKON_SERVING_CACHE_MS: withDefault(numberAtLeast(0), "1000", {
    description:
      "How long (ms) serving reuses catalog facts, trending lists and online neighbours in process before one background read replaces them; 0 disables.",
    readers: ["serving"],
  }),
  RECKON_SERVING_CATALOG_CACHE_MS: withDefault(numberAtLeast(0), "10000", {
    description:
      "Longest reuse (ms) of an item's catalog facts when the catalog index cannot show its change; ordinary changes show within about RECKON_SERVING_CACHE_MS.",
    readers: ["serving"],
  }),
  RECKON_MIN_POSITION_WAIT_MS: withDefault(numberAtLeast(0), "2000", {
    description:
      "Longest wait (ms) of a read for its `min_position` token; the answer's `x-reckon-position-reached` header says whether it was reached.",
    readers: ["serving"],
  }),
  RECKON_SERVING_USER_LISTS: withDefault(numberAtLeast(0), "10000", {
    description: "Users whose precomputed recommendation list serving keeps in process.",
    readers: ["serving"],
  }),
  RECKON_HTTP_FAST_PATH: withDefault(flag, "1", {
    description:
      "Serve `GET /v1/recommendations` on a node:http fast path ahead of express; 0 sends every request through express.",
    readers: ["serving"],
  }),
  RECKON_RECOMMENDATION_LOG_FLUSH_MS: withDefault(wholeNumberBetween(1, 60_000), "250", {
    description:
      "The longest (ms) a served recommendation waits in serving's buffer before its batch is appended to the event log (one INSERT per flush, never one per request); analytics attributes interactions to it once projected.",
    readers: ["serving"],
  }),
  RECKON_RECOMMENDATION_LOG_MAX_BUFFERED: withDefault(wholeNumberAtLeast(1), "200000", {
    description:
      'The most served recommendations one serving process holds while the event log cannot be written; beyond it the oldest are dropped, counted in `reckon_recommendations_logged_total{outcome="dropped"}` and logged.',
    readers: ["serving"],
  }),
  RECKON_ATTRIBUTION_WINDOW_MINUTES: withDefault(wholeNumberBetween(1, 43_200), "60", {
    description:
      "Attribution window of the recommender metrics: an interaction without `recommendation_id` is credited to the most recent recommendation served to the same user that contained the item within this many minutes before it (`GET /v1/recommenders/metrics` may override it with `window_minutes`).",
    readers: ["analytics"],
  }),
  RECKON_MODEL_POLL_MS: withDefault(wholeNumberAtLeast(1), "2000", {
    description:
      "How often (ms) serving checks the model registry for a newly activated ranker, in case a notification was missed.",
    readers: ["serving"],
  }),
  RECKON_TRAIN_INTERVAL_MINUTES: withDefault(numberAtLeast(0), "60", {
    description:
      "Minutes between periodic retrains of the batch neighbour artifact and the ranker (a new ranker goes live only when it evaluates better); 0: only on `reckon train`.",
    readers: ["serving"],
  }),
  RECKON_WORKERS: withDefault(wholeNumberAtLeast(1), "1", {
    description:
      "Processes `reckon start` forks to share the HTTP port (serving and ingest only); `--workers` overrides it.",
    readers: ["reckon start"],
  }),
  RECKON_WORKER_INDEX: withDefault(wholeNumberAtLeast(0), "0", {
    description:
      "Set by `reckon start --workers N` on each worker (0 to N-1); work that must run once (retraining) runs on worker 0. Not set by hand.",
    readers: ["serving"],
  }),
  LOG_LEVEL: optional(oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), {
    description:
      "Log level (pino). Unset: `info`, or `warn` when NODE_ENV is `test`. Read when the logger loads, before the rest.",
    readers: ["logger"],
  }),
  NODE_ENV: optional(text, {
    description:
      "`test` lowers the default log level to `warn`; `production` (the image sets it) refuses RECKON_FIXED_CLOCK.",
    readers: ["logger", "ingest", "projectors", "serving", "analytics", "reckon replay"],
  }),
} as const;

export type VariableName = keyof typeof VARIABLES;
