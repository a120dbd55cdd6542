import assert from "node:assert/strict";
import { test } from "node:test";
import { nestingDepth } from "./json-body.ts";
import { isOutage } from "./outage.ts";

test("nesting depth counts brackets outside strings and stops past the limit", () => {
  const bytes = (s: string) => Buffer.from(s);
  assert.equal(nestingDepth(bytes(`{"a":[1,{"b":"[[[["}]}`), 5), 3);
  assert.equal(nestingDepth(bytes(`{"a":"\\"[[["}`), 5), 1);
  assert.equal(nestingDepth(bytes("[".repeat(1000)), 10), 11);
  assert.equal(nestingDepth(bytes("[[]]"), 64), 0, "bodies shorter than the limit cannot exceed it");
});

test("an outage is told from a fault by code, name or driver message, through causes", () => {
  const withCode = (code: string) => Object.assign(new Error("x"), { code });
  assert.deepEqual(
    [
      withCode("ECONNREFUSED"),
      withCode("57P01"),
      withCode("08006"),
      withCode("23505"),
      new Error("Connection terminated unexpectedly"),
      new Error("wrapped", { cause: withCode("ECONNRESET") }),
      Object.assign(new Error("broker"), { name: "KafkaJSConnectionError" }),
      new AggregateError([withCode("ECONNREFUSED")], "all attempts failed"),
      new TypeError("undefined is not a function"),
    ].map(isOutage),
    [true, true, true, false, true, true, true, true, false],
  );
});
