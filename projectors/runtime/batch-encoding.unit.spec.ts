import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeBatch } from "./batch-encoding.ts";
import type { Op } from "./redis-batch.ts";

const template: readonly Op[] = [
  ["hincrby", "$1", "$c", "$2"],
  ["zincrby", "{c:$c}:tr", "$2", "$3"],
  ["pexpire", "$1", "60000"],
];

test("a catfan template shared by several messages is sent once, before its first use", () => {
  const stream = encodeBatch([
    [["catfan", "{i:a}:item", "cats", template, ["{u:1}:aff", "5", "a"]]],
    [["catfan", "{i:b}:item", "cats", template, ["{u:2}:aff", "7", "b"]]],
  ]);
  assert.deepEqual(stream, [
    ...["D", "1", "3", "I", "$1", "$c", "$2", "Z", "{c:$c}:tr", "$2", "$3", "E", "$1", "60000", ""],
    ...["F", "{i:a}:item", "cats", "1", "3", "{u:1}:aff", "5", "a"],
    ...["F", "{i:b}:item", "cats", "1", "3", "{u:2}:aff", "7", "b"],
    "|",
  ]);
});

test("an equal template in another array is sent again under its own id; a catfan may take no arguments", () => {
  const copy: readonly Op[] = template.map((op) => [...op] as Op);
  const body = ["I", "$1", "$c", "$2", "Z", "{c:$c}:tr", "$2", "$3", "E", "$1", "60000", ""];
  const stream = encodeBatch([
    [["catfan", "{i:a}:item", "cats", template, ["{u:1}:aff", "5", "a"]]],
    [["catfan", "{i:a}:item", "cats", copy, ["{u:1}:aff", "5", "a"]]],
    [["catfan", "{i:a}:item", "cats", [["pexpire", "{c:$c}:x", "10"]]]],
  ]);
  assert.deepEqual(stream, [
    ...["D", "1", "3", ...body, "F", "{i:a}:item", "cats", "1", "3", "{u:1}:aff", "5", "a"],
    ...["D", "2", "3", ...body, "F", "{i:a}:item", "cats", "2", "3", "{u:1}:aff", "5", "a"],
    ...["D", "3", "1", "E", "{c:$c}:x", "10", "", "F", "{i:a}:item", "cats", "3", "0"],
    "|",
  ]);
});

test("a catfan with more than nine arguments is refused (placeholders are $1…$9)", () => {
  const args = Array.from({ length: 10 }, (_, i) => String(i));
  assert.throws(
    () => encodeBatch([[["catfan", "{i:a}:item", "cats", template, args]]]),
    /at most 9 arguments/,
  );
});
