import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { logisticToOnnx, predictLogistic, trainLogistic } from "./logistic.ts";
import { ScoringSession } from "./onnx-session.ts";

/** A fixed pseudo-random stream, so the data and therefore the expected numbers never change. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test("the exported ONNX model scores every row exactly as the trainer does (|Δ| < 1e-6)", async () => {
  const rand = lcg(7);
  const names = ["a", "b", "c", "d", "e"];
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const row = names.map(() => rand());
    rows.push(row);
    labels.push(2 * row[0]! - row[2]! + 0.5 * row[4]! + (rand() - 0.5) > 0.7 ? 1 : 0);
  }
  const model = trainLogistic(rows, labels, names);
  assert.ok(model.weights[0]! > 0 && model.weights[2]! < 0, "learned the signs of the generating rule");

  const session = await ort.InferenceSession.create(logisticToOnnx(model));
  assert.deepEqual(session.inputNames, ["features"]);
  assert.deepEqual(session.outputNames, ["score"]);
  const probe = rows.slice(0, 500);
  const input = new ort.Tensor("float32", Float32Array.from(probe.flat()), [probe.length, names.length]);
  const out = await session.run({ features: input });
  const scores = out.score!.data as Float32Array;
  assert.equal(scores.length, probe.length);
  let worst = 0;
  probe.forEach((row, i) => {
    // The same float32 inputs the graph received: the comparison measures the model, not input rounding.
    const asFed = Array.from(Float32Array.from(row));
    worst = Math.max(worst, Math.abs(scores[i]! - predictLogistic(model, asFed)));
  });
  assert.ok(worst < 1e-6, `largest difference ${worst}`);
  await session.release();
});

test("serving's synchronous scoring session returns the public API's scores bit for bit", async () => {
  const rand = lcg(11);
  const model = {
    weights: [0.8, -0.4, 0.3, 1.2, -0.7],
    bias: -0.25,
    featureNames: ["a", "b", "c", "d", "e"],
  };
  const onnx = logisticToOnnx(model);
  const rows = Float32Array.from({ length: 137 * 5 }, () => rand());

  const reference = await ort.InferenceSession.create(onnx);
  const expected = (await reference.run({ features: new ort.Tensor("float32", rows, [137, 5]) })).score!
    .data as Float32Array;
  await reference.release();

  const session = new ScoringSession(onnx, "features", "score", {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  assert.deepEqual(session.inputNames, ["features"]);
  assert.deepEqual(session.outputNames, ["score"]);
  const scores = session.run(rows, 137, 5);
  assert.ok(scores instanceof Float32Array);
  assert.deepEqual(Array.from(scores), Array.from(expected));
  // A row's score depends on that row only: scoring a slice gives the same numbers for it.
  assert.deepEqual(
    Array.from(session.run(rows.subarray(5 * 40, 5 * 43), 3, 5)),
    Array.from(expected.slice(40, 43)),
  );

  session.release();
  assert.throws(() => session.run(rows, 137, 5), /released/);
  session.release(); // twice is harmless (the hot swap and a shutdown may both release)
});

test("the scoring session refuses bytes that are not a model, as the public API does", () => {
  assert.throws(() => new ScoringSession(new Uint8Array([1, 2, 3, 4]), "features", "score"));
});
