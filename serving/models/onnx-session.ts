import { createRequire } from "node:module";
import * as ort from "onnxruntime-node";

/**
 * An ONNX Runtime session that scores on the calling thread, for the one inference a recommendation request
 * makes.
 *
 * Why not `ort.InferenceSession.run`: onnxruntime-node (1.30) defers every run to `setImmediate` and wraps it
 * in onnxruntime-common's feed/fetch checks. For a ranking model that runs in ≈ 25 µs, that wrapper almost
 * doubles the CPU (≈ 48 against 28 µs per 120-row call in a tight loop), and the
 * `setImmediate` hop lets every other ready request run before this one gets its scores back, which adds to
 * the latency tail. The native session the package itself wraps (`onnxruntime-node/dist/binding.js`) runs
 * synchronously; this module uses it with the same session options. It builds the one feed itself, so the
 * per-call feed checks are not needed; the output's type is still checked.
 *
 * The binding is not the package's documented API, so the lockfile pins onnxruntime-node and
 * `onnx.unit.spec.ts` checks that this session scores exactly as the public API does.
 */
interface NativeValueMetadata {
  name: string;
  isTensor: boolean;
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: NativeValueMetadata[];
  readonly outputMetadata: NativeValueMetadata[];
  run(
    feeds: Record<string, ort.Tensor>,
    fetches: Record<string, null>,
    options: object,
  ): Record<string, ort.Tensor>;
  dispose(): void;
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  /** Initialises the runtime once per process (the public API calls it on first session creation). */
  initOrt(): void;
}

const native = createRequire(import.meta.url)("onnxruntime-node/dist/binding.js") as NativeBinding;

export interface ScoringSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
}

export class ScoringSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly session: NativeSession;
  private readonly fetches: Record<string, null>;
  private released = false;

  /** Loads the model; throws (as `ort.InferenceSession.create` does) when onnxruntime rejects it. */
  constructor(
    onnx: Uint8Array,
    private readonly input: string,
    private readonly output: string,
    options: ScoringSessionOptions = {},
  ) {
    native.initOrt();
    this.session = new native.binding.InferenceSession();
    this.session.loadModel(onnx.buffer, onnx.byteOffset, onnx.byteLength, options);
    this.inputNames = this.session.inputMetadata.map((m) => m.name);
    this.outputNames = this.session.outputMetadata.map((m) => m.name);
    this.fetches = { [output]: null };
  }

  /** Scores `count` rows of `width` float32 features (row-major) in one call; one score per row. */
  run(rows: Float32Array, count: number, width: number): Float32Array {
    if (this.released) throw new Error("the ONNX session was released");
    const out = this.session.run(
      { [this.input]: new ort.Tensor("float32", rows, [count, width]) },
      this.fetches,
      {},
    );
    const tensor = out[this.output];
    if (!tensor || tensor.type !== "float32")
      throw new Error(`the model's "${this.output}" output is not float32`);
    return tensor.data as Float32Array;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.session.dispose();
  }
}
