import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compositionOf,
  compositionProblems,
  describeComposition,
  embeddedStoreUrls,
  logTransportOf,
} from "./composition.ts";

const DATA = "/srv/reckon";
const EMBEDDED = embeddedStoreUrls(DATA);
const ALL = ["ingest", "relay", "projectors", "serving", "analytics"];

describe("store composition", () => {
  it("puts each embedded store in its own directory under the data directory", () => {
    assert.deepEqual(EMBEDDED, {
      DATABASE_URL: "pglite:///srv/reckon/postgres",
      REDIS_URL: "memory:///srv/reckon/projections",
      CLICKHOUSE_URL: "chdb:///srv/reckon/clickhouse",
    });
  });

  it("tails the Postgres log without brokers, relays through Kafka with them, and an explicit choice wins", () => {
    assert.deepEqual(
      [
        logTransportOf({}),
        logTransportOf({ KAFKA_BROKERS: "k:9092" }),
        logTransportOf({ KAFKA_BROKERS: "k:9092", RECKON_LOG_TRANSPORT: "postgres" }),
        logTransportOf({ RECKON_LOG_TRANSPORT: "kafka" }),
      ],
      ["postgres", "kafka", "postgres", "kafka"],
    );
  });

  it("tells embedded stores from servers by their URL", () => {
    const mixed = compositionOf(DATA, {
      DATABASE_URL: "postgres://h/db",
      REDIS_URL: EMBEDDED.REDIS_URL,
      CLICKHOUSE_URL: "http://ch:8123",
      KAFKA_BROKERS: "k:9092",
    });
    assert.deepEqual(
      [mixed.database.embedded, mixed.projections.embedded, mixed.clickhouse.embedded, mixed.transport],
      [false, true, false, "kafka"],
    );
    // An unset CLICKHOUSE_URL is the in-process engine on its default directory.
    assert.equal(compositionOf(DATA, { DATABASE_URL: "postgres://h/db" }).clickhouse.embedded, true);
  });
});

describe("combinations refused at start", () => {
  const embedded = compositionOf(DATA, EMBEDDED);
  const servers = compositionOf(DATA, {
    DATABASE_URL: "postgres://h/db",
    REDIS_URL: "redis://r:6379",
    CLICKHOUSE_URL: "http://ch:8123",
    KAFKA_BROKERS: "k:9092",
  });

  it("accepts every role in one process on embedded stores, and any shape on servers", () => {
    assert.deepEqual(compositionProblems(embedded, { roles: ALL, workers: 1 }), []);
    assert.deepEqual(
      compositionProblems(servers, { roles: ["serving"], workers: 4, projections: ["features"] }),
      [],
    );
  });

  it("refuses several worker processes on PGlite and on the in-process projection store", () => {
    assert.deepEqual(compositionProblems(embedded, { roles: ALL, workers: 2 }), [
      "--workers 2: the embedded database (PGlite, pglite:///srv/reckon/postgres) is one process's; several worker processes cannot share it. Run one process, or set DATABASE_URL to a Postgres server.",
      "--workers 2: the in-process projection store (memory:///srv/reckon/projections) belongs to one process; worker processes would each see their own. Run one process, or set REDIS_URL to a Redis server.",
    ]);
  });

  it("refuses a role split across processes on PGlite, naming the roles that would have no database", () => {
    assert.deepEqual(compositionProblems(embedded, { roles: ["ingest", "relay"], workers: 1 }), [
      "--roles ingest,relay: the embedded database (PGlite, pglite:///srv/reckon/postgres) is reachable only inside this process, so projectors, serving, analytics could not run anywhere else. Run every role in one process (plain `reckon start`), or set DATABASE_URL to a Postgres server.",
    ]);
  });

  it("refuses projectors and serving apart on the in-process projection store, and a subset of projections", () => {
    const memoryOnly = compositionOf(DATA, {
      ...servers,
      DATABASE_URL: "postgres://h/db",
      REDIS_URL: EMBEDDED.REDIS_URL,
      KAFKA_BROKERS: "k:9092",
    });
    assert.deepEqual(compositionProblems(memoryOnly, { roles: ["serving"], workers: 1 }), [
      "--roles serving: the in-process projection store (memory:///srv/reckon/projections) is visible only inside the process that writes it, so projectors must run in this process too. Add projectors to --roles, or set REDIS_URL to a Redis server.",
    ]);
    assert.deepEqual(
      compositionProblems(memoryOnly, {
        roles: ["projectors", "serving"],
        workers: 1,
        projections: ["features"],
      }),
      [
        "RECKON_PROJECTIONS=features: with the in-process projection store (memory:///srv/reckon/projections) every projection runs in this process (recommendations, analytics would be missing from its reads). Unset RECKON_PROJECTIONS, or set REDIS_URL to a Redis server.",
      ],
    );
    // A process without projectors or serving never opens the projection store: nothing to refuse.
    assert.deepEqual(compositionProblems(memoryOnly, { roles: ["ingest", "relay"], workers: 3 }), []);
  });

  it("refuses the Kafka transport without brokers", () => {
    const noBrokers = compositionOf(DATA, { ...EMBEDDED, RECKON_LOG_TRANSPORT: "kafka" });
    assert.deepEqual(compositionProblems(noBrokers, { roles: ALL, workers: 1 }), [
      "RECKON_LOG_TRANSPORT=kafka: no KAFKA_BROKERS configured, so there is no Kafka to relay the log through. Set KAFKA_BROKERS=host:9092, or unset RECKON_LOG_TRANSPORT to let the projectors tail the Postgres log.",
    ]);
  });
});

describe("the block printed at start", () => {
  it("says what each store runs on and how to switch it to a server", () => {
    assert.equal(
      describeComposition(compositionOf(DATA, EMBEDDED), "http://127.0.0.1:8123 (user analyst)"),
      [
        "Reckon stores (embedded data directory: /srv/reckon)",
        "  Postgres          embedded PGlite in this process, data in /srv/reckon/postgres",
        "                    → set DATABASE_URL=postgres://… to use a Postgres server",
        "  Log transport     Postgres tail: the projectors read the log in process, no Kafka",
        "                    → set KAFKA_BROKERS=host:9092 to relay through Kafka",
        "  Projection store  in-process store, journal and snapshot in /srv/reckon/projections",
        "                    → set REDIS_URL=redis://… (or redis-cluster://…) to use Redis",
        "  ClickHouse        in-process chdb, data in /srv/reckon/clickhouse; SQL endpoint http://127.0.0.1:8123 (user analyst)",
        "                    → set CLICKHOUSE_URL=http://… to use a ClickHouse server",
        "  The whole local server stack instead: npm run start:stack",
      ].join("\n"),
    );
  });

  it("names servers without their passwords", () => {
    const text = describeComposition(
      compositionOf(DATA, {
        DATABASE_URL: "postgres://reckon:secret@db:5432/reckon",
        REDIS_URL: "redis://:pw@r:6379",
        CLICKHOUSE_URL: "https://u:chpw@ch:8443",
        KAFKA_BROKERS: "k:9092",
      }),
      undefined,
    );
    assert.equal(
      text,
      [
        "Reckon stores (all servers)",
        "  Postgres          server postgres://reckon:***@db:5432/reckon",
        "  Log transport     Kafka (relay Postgres → Kafka, one consumer group per projection)",
        "  Projection store  server redis://:***@r:6379",
        "  ClickHouse        server https://u:***@ch:8443",
      ].join("\n"),
    );
  });
});
