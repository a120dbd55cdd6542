import { encodeOnnxModel } from "./onnx-writer.ts";

/**
 * Logistic regression trained by full-batch Adam on standardised features (deterministic: no sampling).
 * The standardisation is folded into the exported weights, so the ONNX graph is Gemm → Sigmoid and the
 * trainer's own `predict` computes exactly the function the graph does (in float64 instead of float32).
 */
export interface LogisticModel {
  /** Weights on raw (unstandardised) features. */
  weights: number[];
  bias: number;
  featureNames: string[];
}

export interface LogisticOptions {
  iterations?: number;
  learningRate?: number;
  /** L2 penalty on standardised weights. */
  l2?: number;
}

export function trainLogistic(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  featureNames: readonly string[],
  options: LogisticOptions = {},
): LogisticModel {
  const f = featureNames.length;
  const n = rows.length;
  if (n === 0) throw new Error("no training examples");
  const mean = new Array<number>(f).fill(0);
  const std = new Array<number>(f).fill(0);
  for (const r of rows) for (let j = 0; j < f; j++) mean[j]! += r[j]! / n;
  for (const r of rows) for (let j = 0; j < f; j++) std[j]! += (r[j]! - mean[j]!) ** 2 / n;
  for (let j = 0; j < f; j++) std[j] = Math.sqrt(std[j]!) || 1;

  const iterations = options.iterations ?? 400;
  const lr = options.learningRate ?? 0.05;
  const l2 = options.l2 ?? 1e-4;
  const w = new Array<number>(f + 1).fill(0); // last entry: bias
  const m = new Array<number>(f + 1).fill(0);
  const v = new Array<number>(f + 1).fill(0);
  const z = rows.map((r) => r.map((x, j) => (x - mean[j]!) / std[j]!));
  for (let t = 1; t <= iterations; t++) {
    const grad = new Array<number>(f + 1).fill(0);
    for (let i = 0; i < n; i++) {
      const zi = z[i]!;
      let s = w[f]!;
      for (let j = 0; j < f; j++) s += w[j]! * zi[j]!;
      const err = sigmoid(s) - labels[i]!;
      for (let j = 0; j < f; j++) grad[j]! += (err * zi[j]!) / n;
      grad[f]! += err / n;
    }
    for (let j = 0; j < f; j++) grad[j]! += l2 * w[j]!;
    for (let j = 0; j <= f; j++) {
      m[j] = 0.9 * m[j]! + 0.1 * grad[j]!;
      v[j] = 0.999 * v[j]! + 0.001 * grad[j]! ** 2;
      const mh = m[j]! / (1 - 0.9 ** t);
      const vh = v[j]! / (1 - 0.999 ** t);
      w[j]! -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  // Fold standardisation: w·(x−μ)/σ + b = (w/σ)·x + (b − Σ w μ/σ).
  const weights = featureNames.map((_, j) => w[j]! / std[j]!);
  const bias = w[f]! - featureNames.reduce((acc, _, j) => acc + (w[j]! * mean[j]!) / std[j]!, 0);
  return { weights, bias, featureNames: [...featureNames] };
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

export function predictLogistic(model: LogisticModel, row: readonly number[]): number {
  let s = model.bias;
  for (let j = 0; j < model.weights.length; j++) s += model.weights[j]! * row[j]!;
  return sigmoid(s);
}

/** The ONNX signature every ranking model must have (see docs/guides/recommendations.md "Bringing your own ranker"). */
export const ONNX_INPUT = "features";
export const ONNX_OUTPUT = "score";

export function logisticToOnnx(
  model: LogisticModel,
  doc = "Reckon ranking model: logistic regression",
): Uint8Array {
  const f = model.weights.length;
  return encodeOnnxModel({
    graphName: "reckon_ranker",
    producer: "reckon",
    opset: 13,
    doc,
    nodes: [
      { opType: "Gemm", name: "linear", inputs: [ONNX_INPUT, "W", "B"], outputs: ["logit"] },
      { opType: "Sigmoid", name: "probability", inputs: ["logit"], outputs: [ONNX_OUTPUT] },
    ],
    initializers: [
      { name: "W", dims: [f, 1], values: model.weights },
      { name: "B", dims: [1], values: [model.bias] },
    ],
    inputs: [
      { name: ONNX_INPUT, dims: ["N", f], doc: `float32 rows, columns: ${model.featureNames.join(", ")}` },
    ],
    outputs: [{ name: ONNX_OUTPUT, dims: ["N", 1], doc: "higher ranks first" }],
    metadata: { feature_names: JSON.stringify(model.featureNames), model: "logistic_regression" },
  });
}
