import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalJson } from "./canonical-json.ts";

describe("canonicalJson", () => {
  it("sorts object keys at every depth and keeps array order", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } }),
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it("gives one string for the same value whatever its key order", () => {
    assert.equal(canonicalJson({ x: 1, y: [1, 2] }), canonicalJson({ y: [1, 2], x: 1 }));
    assert.notEqual(canonicalJson({ y: [1, 2] }), canonicalJson({ y: [2, 1] }));
  });

  it("is JSON.stringify otherwise: undefined fields dropped, toJSON applied, scalars as they are", () => {
    assert.equal(canonicalJson({ a: undefined, b: null }), '{"b":null}');
    assert.equal(
      canonicalJson({ at: new Date("2026-01-02T03:04:05.000Z") }),
      '{"at":"2026-01-02T03:04:05.000Z"}',
    );
    assert.equal(canonicalJson("é"), '"é"');
    assert.equal(canonicalJson([1, "2", true]), '[1,"2",true]');
  });
});
