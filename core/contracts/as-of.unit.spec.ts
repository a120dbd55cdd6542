import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AS_OF_RULE, parseAsOf } from "./as-of.ts";

const NOW = new Date("2026-06-01T00:00:00.000Z");

describe("parseAsOf", () => {
  it("takes an absent value as no as_of, and an ISO-8601 time with a zone as that instant", () => {
    assert.deepEqual(parseAsOf(undefined, NOW), { ok: true, asOf: undefined });
    assert.deepEqual(parseAsOf("2026-05-01T10:00:00+02:00", NOW), {
      ok: true,
      asOf: new Date("2026-05-01T08:00:00.000Z"),
    });
    assert.deepEqual(parseAsOf("2026-05-31T23:59:59.999Z", NOW), {
      ok: true,
      asOf: new Date("2026-05-31T23:59:59.999Z"),
    });
  });

  it("refuses a date without time or zone, garbage, a repeated parameter and the future, naming the rule", () => {
    const refused = (value: unknown, rule: string) =>
      assert.deepEqual(parseAsOf(value, NOW), {
        ok: false,
        error: { field: "as_of", rule, received: value },
      });
    refused("2026-05-01", AS_OF_RULE);
    refused("2026-05-01T10:00:00", AS_OF_RULE);
    refused("yesterday", AS_OF_RULE);
    refused("2026-13-45T10:00:00Z", AS_OF_RULE);
    refused(["2026-05-01T10:00:00Z", "2026-05-02T10:00:00Z"], `${AS_OF_RULE}; give it once`);
    refused("2026-06-01T00:00:00.001Z", `${AS_OF_RULE} (now is 2026-06-01T00:00:00.000Z)`);
  });
});
