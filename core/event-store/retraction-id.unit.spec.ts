import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { retractionEventId } from "./retraction-id.ts";

describe("retractionEventId", () => {
  it("is the RFC 9562 UUIDv5 of the original's id (values from Python's uuid.uuid5), case-insensitive", () => {
    assert.equal(
      retractionEventId("00000000-0000-4000-8000-000000000001"),
      "b78ac6b5-99b1-5c64-bc87-7fdafd40cdf3",
    );
    assert.equal(
      retractionEventId("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
      "3093a667-dbe1-5c1c-a5de-11b43e44d47b",
    );
    assert.equal(
      retractionEventId("6BA7B810-9DAD-11D1-80B4-00C04FD430C8"),
      "3093a667-dbe1-5c1c-a5de-11b43e44d47b",
    );
  });
});
