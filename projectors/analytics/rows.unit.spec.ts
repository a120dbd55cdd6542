import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { splitStatements } from "./migrate.ts";
import { toRow } from "./rows.ts";

const envelope = { position: 7, transaction_id: "42", received_at: "2024-03-01T00:00:00.000Z" };

describe("toRow", () => {
  it("maps an interaction event to an events row, in UTC, with empty strings for absent fields", () => {
    const mapped = toRow({
      ...envelope,
      kind: "interaction",
      event: {
        event_id: "00000000-0000-4000-8000-00000000000A",
        type: "exposure",
        user_id: "u1",
        timestamp: "2024-03-01T02:00:00+02:00",
        experiment: { key: "exp", variant: "b" },
        context: { device: "mobile", country: "DE" },
      },
    });
    assert.equal(mapped.table, "events");
    assert.deepEqual(mapped.table === "events" && mapped.row, {
      event_id: "00000000-0000-4000-8000-00000000000a",
      type: "exposure",
      user_id: "u1",
      item_id: "",
      occurred_at: "2024-03-01T00:00:00.000Z",
      value: null,
      experiment_key: "exp",
      variant: "b",
      recommendation_id: "",
      session_id: "",
      device: "mobile",
      platform: "",
      page: "",
      referrer: "",
      country: "DE",
      locale: "",
      app_version: "",
      properties: "{}",
      position: 7,
      transaction_id: "42",
      received_at: "2024-03-01T00:00:00.000Z",
    });
  });

  it("dead-letters what ClickHouse would reject instead of failing the batch", () => {
    const bad = (event: Record<string, unknown>, extra: Partial<typeof envelope> = {}) =>
      toRow({ ...envelope, ...extra, kind: "interaction", event } as unknown as LogMessage);
    const ok = {
      event_id: "00000000-0000-4000-8000-000000000001",
      type: "view",
      user_id: "u",
      timestamp: "2024-03-01T00:00:00Z",
    };
    assert.deepEqual(bad({ ...ok, event_id: "x" }), {
      table: null,
      outcome: "dead_letter",
      reason: "event_id must be a UUID",
    });
    assert.deepEqual(bad({ ...ok, timestamp: "yesterday" }), {
      table: null,
      outcome: "dead_letter",
      reason: "timestamp must be an ISO-8601 date-time",
    });
    assert.deepEqual(bad({ ...ok, value: "3" }), {
      table: null,
      outcome: "dead_letter",
      reason: "value must be a finite number",
    });
    assert.deepEqual(bad(ok, { transaction_id: "-1" }), {
      table: null,
      outcome: "dead_letter",
      reason: "transaction_id must be a decimal string",
    });
  });
});

describe("toRow for a served recommendation", () => {
  const served = {
    event_id: "00000000-0000-4000-8000-0000000000AB",
    type: "recommendation_served",
    user_id: "u1",
    timestamp: "2024-03-01T02:00:00+02:00",
    model_version: null,
    experiment: { key: "rankers", variant: "b" },
    items: [
      { item_id: "i9", rank: 1, source: "neighbours" },
      { item_id: "i3", rank: 2, source: "popular" },
    ],
  };
  const map = (event: Record<string, unknown>) =>
    toRow({ ...envelope, kind: "recommendation", event } as unknown as LogMessage);

  it("maps each item of the list to a recommendation_items row (heuristic ranker: model_version -1)", () => {
    const row = {
      recommendation_id: "00000000-0000-4000-8000-0000000000ab",
      user_id: "u1",
      served_at: "2024-03-01T00:00:00.000Z",
      model_version: -1,
      experiment_key: "rankers",
      variant: "b",
      list_size: 2,
      position: 7,
    };
    assert.deepEqual(map(served), {
      table: "recommendation_items",
      rows: [
        { ...row, item_id: "i9", rank: 1, source: "neighbours" },
        { ...row, item_id: "i3", rank: 2, source: "popular" },
      ],
    });
    const { experiment: _e, ...outside } = served;
    const mapped = map({ ...outside, model_version: 12 });
    assert.deepEqual(
      mapped.table === "recommendation_items" &&
        mapped.rows.map((r) => [r.model_version, r.experiment_key, r.variant]),
      [
        [12, "", ""],
        [12, "", ""],
      ],
    );
  });

  it("dead-letters a malformed record", () => {
    const reason = (event: Record<string, unknown>) => {
      const mapped = map(event);
      return mapped.table === null ? mapped.reason : "mapped";
    };
    assert.equal(reason({ ...served, event_id: "x" }), "event_id must be a UUID");
    assert.equal(reason({ ...served, model_version: "7" }), "model_version must be an integer or null");
    assert.equal(
      reason({ ...served, items: [{ item_id: "a", rank: 0, source: "s" }] }),
      "items[].rank must be an integer from 1 to 65535",
    );
    assert.equal(
      reason({ ...served, items: [{ rank: 1, source: "s" }] }),
      "items[].item_id must be a non-empty string",
    );
    assert.equal(reason({ ...served, experiment: { key: "k" } }), "experiment must hold a key and a variant");
  });
});

describe("splitStatements", () => {
  it("splits on semicolons at line ends and drops comment lines", () => {
    assert.deepEqual(
      splitStatements("-- a comment; here\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\nSELECT 1;\n"),
      ["CREATE TABLE a (x UInt8) ENGINE = Memory", "SELECT 1"],
    );
  });
});
