import assert from "node:assert/strict";
import { test } from "node:test";
import { deserializeError, serializeError } from "./pglite-protocol.ts";

test("an error crosses the thread boundary with its name, message and plain fields, not its objects", () => {
  const original = Object.assign(new Error("duplicate key"), {
    name: "DatabaseError",
    code: "23505",
    length: 120,
    detail: null,
    retryable: false,
    query: { text: "INSERT" },
  });
  const serialized = serializeError(original);
  assert.deepEqual(
    { name: serialized.name, message: serialized.message, fields: serialized.fields },
    {
      name: "DatabaseError",
      message: "duplicate key",
      fields: { name: "DatabaseError", code: "23505", length: 120, detail: null, retryable: false },
    },
  );
  const copy = deserializeError(structuredClone(serialized));
  assert.ok(copy instanceof Error);
  assert.equal(copy.name, "DatabaseError");
  assert.equal(copy.message, "duplicate key");
  assert.equal((copy as Error & { code?: string }).code, "23505");
  assert.equal(copy.stack, original.stack);
});

test("a thrown value that is not an Error becomes one with its text", () => {
  assert.deepEqual(serializeError("boom"), { name: "Error", message: "boom", fields: {} });
  assert.equal(deserializeError(serializeError(42)).message, "42");
});
