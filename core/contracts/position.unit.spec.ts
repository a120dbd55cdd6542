import { test } from "node:test";
import assert from "node:assert/strict";
import { compareLogPositions, formatPositionToken, parsePositionToken } from "./position.ts";

test("log order compares transaction id first, then position", () => {
  // A later transaction with an earlier position comes after: that is how commits are observed.
  assert.equal(
    compareLogPositions({ transactionId: 5n, position: 90 }, { transactionId: 6n, position: 10 }),
    -1,
  );
  assert.equal(
    compareLogPositions({ transactionId: 6n, position: 10 }, { transactionId: 6n, position: 11 }),
    -1,
  );
  assert.equal(
    compareLogPositions({ transactionId: 6n, position: 11 }, { transactionId: 6n, position: 11 }),
    0,
  );
  assert.equal(
    compareLogPositions({ transactionId: 7n, position: 1 }, { transactionId: 6n, position: 11 }),
    1,
  );
});

test("tokens round-trip and malformed tokens are refused", () => {
  const p = { transactionId: 123456789012n, position: 42 };
  assert.equal(formatPositionToken(p), "123456789012.42");
  assert.deepEqual(parsePositionToken("123456789012.42"), p);
  assert.equal(parsePositionToken("42"), undefined);
  assert.equal(parsePositionToken("a.b"), undefined);
  assert.equal(parsePositionToken("1.99999999999999999"), undefined);
});
