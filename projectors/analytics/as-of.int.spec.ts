// Experiment results as_of a time equal the same computation over the analytics tables rebuilt up to the last
// log entry recorded by then (`reckon replay --projection analytics --to`), before and after a retraction
// (Postgres and chdb).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogHead } from "../../core/event-store/log-reader.ts";
import { compareLogPositions, parsePositionToken, type LogPosition } from "../../core/contracts/position.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { ExistingExperiment } from "../../ingest/experiments/index.ts";
import { retractEvents } from "../../ingest/retraction/retract.ts";
import { parseRetractionRequest, type RetractionRequest } from "../../ingest/retraction/request.ts";
import { FIXTURE_EXPERIMENT, T0, fixtureEvents } from "../../analytics/queries/testing.ts";
import { clickHouseStatistics } from "../../analytics/experiments/clickhouse-statistics.ts";
import { replayAnalytics } from "./replay.ts";
import { inDatabase } from "./as-of.ts";

const HOUR = 3_600_000;
const EXPERIMENT = { definition: FIXTURE_EXPERIMENT } as ExistingExperiment;

async function visible(db: TestDatabase["db"], p: LogPosition | undefined): Promise<void> {
  if (!p) return;
  while (compareLogPositions(await readLogHead(db), p) < 0) await new Promise((r) => setTimeout(r, 20));
}

describe("experiment results as_of", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-asof-"));
  let ch: ClickHouseStore;
  let t: TestDatabase;
  const times: Date[] = [];

  const lastReceived = async () => {
    const { rows } = await t.db.query<{ at: Date }>(
      "SELECT date_trunc('milliseconds', max(received_at)) + interval '1 millisecond' AS at FROM events",
    );
    await new Promise((r) => setTimeout(r, 5));
    return rows[0]!.at;
  };
  const append = async (events: InteractionEvent[]) =>
    visible(t.db, (await appendInteractionEvents(t.db, events)).head);

  before(async () => {
    ch = await openClickHouse(`chdb://${dataDir}`);
    t = await createTestDatabase();
    const [first, second] = fixtureEvents();
    await append(first!);
    times.push(await lastReceived());
    await append(second!);
    times.push(await lastReceived());
    const u4 = first!.filter((e) => e.user_id === "u4" && e.type === "purchase").map((e) => e.event_id);
    const parsed = parseRetractionRequest({ event_ids: u4 });
    assert.ok(parsed.ok);
    const outcome = await retractEvents(t.db, parsed.request as RetractionRequest, { actor: "test" });
    await visible(t.db, parsePositionToken(outcome.position!));
    times.push(await lastReceived());
  });
  after(async () => {
    await ch.close();
    rmSync(dataDir, { recursive: true, force: true });
    await t.drop();
  });

  it("equals the results over the tables rebuilt up to then, and changes with what the log held", async () => {
    const statistics = clickHouseStatistics(async () => ch, t.db);
    const request = (at: Date) => ({
      now: new Date(T0 + 400 * HOUR),
      cumulative: false,
      open: true,
      asOf: at,
    });
    const answers = [];
    for (const at of times) {
      const asOf = await statistics(EXPERIMENT, request(at));
      const { rows } = await t.db.query<{ transaction_id: string; position: number }>(
        `SELECT transaction_id::text AS transaction_id, position FROM events WHERE received_at <= $1
          ORDER BY transaction_id DESC, position DESC LIMIT 1`,
        [at],
      );
      const to = { transactionId: BigInt(rows[0]!.transaction_id), position: Number(rows[0]!.position) };
      const built = await replayAnalytics({ db: t.db, clickhouse: ch, topic: "t", partitions: 1, to });
      const { asOf: _asOf, ...live } = request(at);
      const replayed = await clickHouseStatistics(async () => inDatabase(ch, built.database))(
        EXPERIMENT,
        live,
      );
      await ch.command(`DROP DATABASE ${built.database} SYNC`);
      assert.deepEqual(asOf, replayed, at.toISOString());
      answers.push(asOf);
    }
    // Each time saw another log: the second batch exposed u1 to treatment and u6 earlier, then u4's
    // purchases were retracted.
    assert.notDeepEqual(answers[0], answers[1]);
    assert.notDeepEqual(answers[1], answers[2]);
    const scratch = await ch.query<{ name: string }>(
      "SELECT name FROM system.databases WHERE name LIKE 'reckon_asof%'",
    );
    assert.deepEqual(scratch, []);
  });
});
