import path from "node:path";

/**
 * Which store each part of Reckon runs on, decided from the store URLs alone: a URL that is set names a server;
 * an unset one is the embedded store under the data directory (PGlite, the in-process projection store, chdb),
 * and without Kafka the projectors tail the Postgres log. Pure: start-up prints it, refuses what cannot work
 * and opens the stores it names.
 */

export type LogTransport = "kafka" | "postgres";

export interface StoreComposition {
  /** Absolute data directory of the embedded stores. */
  dataDir: string;
  database: { embedded: boolean; url: string };
  projections: { embedded: boolean; url: string };
  clickhouse: { embedded: boolean; url: string };
  transport: LogTransport;
  kafkaConfigured: boolean;
}

/** The URLs the embedded stores take under `dataDir`. */
export function embeddedStoreUrls(dataDir: string): {
  DATABASE_URL: string;
  REDIS_URL: string;
  CLICKHOUSE_URL: string;
} {
  return {
    DATABASE_URL: `pglite://${path.join(dataDir, "postgres")}`,
    REDIS_URL: `memory://${path.join(dataDir, "projections")}`,
    CLICKHOUSE_URL: `chdb://${path.join(dataDir, "clickhouse")}`,
  };
}

/** `kafka` when brokers are configured, else the Postgres tail; an explicit `RECKON_LOG_TRANSPORT` wins. */
export function logTransportOf(values: {
  KAFKA_BROKERS?: string | undefined;
  RECKON_LOG_TRANSPORT?: string | undefined;
}): LogTransport {
  const chosen = values.RECKON_LOG_TRANSPORT;
  if (chosen === "kafka" || chosen === "postgres") return chosen;
  return values.KAFKA_BROKERS ? "kafka" : "postgres";
}

/** The composition of completed values (every store URL already filled in, see core/config/sources.ts). */
export function compositionOf(
  dataDir: string,
  values: {
    DATABASE_URL?: string | undefined;
    REDIS_URL?: string | undefined;
    CLICKHOUSE_URL?: string | undefined;
    KAFKA_BROKERS?: string | undefined;
    RECKON_LOG_TRANSPORT?: string | undefined;
  },
): StoreComposition {
  const database = values.DATABASE_URL ?? "";
  const projections = values.REDIS_URL ?? "";
  const clickhouse = values.CLICKHOUSE_URL ?? "";
  return {
    dataDir,
    database: { embedded: database.startsWith("pglite://"), url: database },
    projections: { embedded: projections.startsWith("memory://"), url: projections },
    clickhouse: { embedded: clickhouse === "" || clickhouse.startsWith("chdb://"), url: clickhouse },
    transport: logTransportOf(values),
    kafkaConfigured: Boolean(values.KAFKA_BROKERS),
  };
}

/** The roles a store kept in one process must share that process with. */
const ALL_ROLES = ["ingest", "relay", "projectors", "serving", "analytics"] as const;
const PROJECTION_STORE_ROLES = ["projectors", "serving"] as const;
const PROJECTIONS = ["features", "recommendations", "analytics"] as const;

export interface ProcessShape {
  /** The roles this process runs. */
  roles: readonly string[];
  /** Processes `reckon start` forks (`--workers`, RECKON_WORKERS). */
  workers: number;
  /** RECKON_PROJECTIONS (undefined: all). */
  projections?: readonly string[] | undefined;
}

/**
 * Why this composition cannot run as `shape`, one message per reason (empty when it can). An embedded store
 * lives inside one process: every role that uses it must run there, and there must be one such process.
 */
export function compositionProblems(composition: StoreComposition, shape: ProcessShape): string[] {
  const problems: string[] = [];
  const { database, projections, transport } = composition;
  const missing = (needed: readonly string[]) => needed.filter((r) => !shape.roles.includes(r));
  if (database.embedded) {
    if (shape.workers > 1)
      problems.push(
        `--workers ${shape.workers}: the embedded database (PGlite, ${database.url}) is one process's; several ` +
          `worker processes cannot share it. Run one process, or set DATABASE_URL to a Postgres server.`,
      );
    const absent = missing(ALL_ROLES);
    if (absent.length > 0)
      problems.push(
        `--roles ${shape.roles.join(",")}: the embedded database (PGlite, ${database.url}) is reachable only ` +
          `inside this process, so ${absent.join(", ")} could not run anywhere else. Run every role in one ` +
          `process (plain \`reckon start\`), or set DATABASE_URL to a Postgres server.`,
      );
  }
  if (
    projections.embedded &&
    shape.roles.some((r) => (PROJECTION_STORE_ROLES as readonly string[]).includes(r))
  ) {
    if (shape.workers > 1)
      problems.push(
        `--workers ${shape.workers}: the in-process projection store (${projections.url}) belongs to one ` +
          `process; worker processes would each see their own. Run one process, or set REDIS_URL to a Redis server.`,
      );
    const absent = missing(PROJECTION_STORE_ROLES);
    if (absent.length > 0)
      problems.push(
        `--roles ${shape.roles.join(",")}: the in-process projection store (${projections.url}) is visible only ` +
          `inside the process that writes it, so ${absent.join(" and ")} must run in this process too. ` +
          `Add ${absent.join(",")} to --roles, or set REDIS_URL to a Redis server.`,
      );
    const partial = shape.projections && PROJECTIONS.filter((p) => !shape.projections!.includes(p));
    if (partial && partial.length > 0 && shape.roles.includes("projectors"))
      problems.push(
        `RECKON_PROJECTIONS=${shape.projections!.join(",")}: with the in-process projection store ` +
          `(${projections.url}) every projection runs in this process (${partial.join(", ")} would be missing ` +
          `from its reads). Unset RECKON_PROJECTIONS, or set REDIS_URL to a Redis server.`,
      );
  }
  if (transport === "kafka" && !composition.kafkaConfigured)
    problems.push(
      "RECKON_LOG_TRANSPORT=kafka: no KAFKA_BROKERS configured, so there is no Kafka to relay the log through. " +
        "Set KAFKA_BROKERS=host:9092, or unset RECKON_LOG_TRANSPORT to let the projectors tail the Postgres log.",
    );
  return problems;
}

/** The block `reckon start` prints first: what each store runs on, and how to switch it to a server. */
export function describeComposition(
  composition: StoreComposition,
  clickhouseEndpoint: string | undefined,
): string {
  const { database, projections, clickhouse, transport, dataDir } = composition;
  const after = (url: string, prefix: string) => url.slice(prefix.length);
  const line = (label: string, what: string, howToSwitch: string) =>
    `  ${label.padEnd(18)}${what}${howToSwitch ? `\n  ${"".padEnd(18)}→ ${howToSwitch}` : ""}`;
  const anyEmbedded = database.embedded || projections.embedded || clickhouse.embedded;
  const lines = [
    anyEmbedded ? `Reckon stores (embedded data directory: ${dataDir})` : "Reckon stores (all servers)",
    line(
      "Postgres",
      database.embedded
        ? `embedded PGlite in this process, data in ${after(database.url, "pglite://")}`
        : `server ${redactUrl(database.url)}`,
      database.embedded ? "set DATABASE_URL=postgres://… to use a Postgres server" : "",
    ),
    line(
      "Log transport",
      transport === "kafka"
        ? "Kafka (relay Postgres → Kafka, one consumer group per projection)"
        : "Postgres tail: the projectors read the log in process, no Kafka",
      transport === "kafka" ? "" : "set KAFKA_BROKERS=host:9092 to relay through Kafka",
    ),
    line(
      "Projection store",
      projections.embedded
        ? `in-process store, journal and snapshot in ${after(projections.url, "memory://")}`
        : `server ${redactUrl(projections.url)}`,
      projections.embedded ? "set REDIS_URL=redis://… (or redis-cluster://…) to use Redis" : "",
    ),
    line(
      "ClickHouse",
      clickhouse.embedded
        ? `in-process chdb, data in ${clickhouse.url ? after(clickhouse.url, "chdb://") || "its default directory" : "its default directory"}` +
            (clickhouseEndpoint ? `; SQL endpoint ${clickhouseEndpoint}` : "")
        : `server ${redactUrl(clickhouse.url)}`,
      clickhouse.embedded ? "set CLICKHOUSE_URL=http://… to use a ClickHouse server" : "",
    ),
  ];
  if (anyEmbedded) lines.push("  The whole local server stack instead: npm run start:stack");
  return lines.join("\n");
}

const redactUrl = (url: string) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, "$1***@");
