/**
 * A minimal ONNX (protobuf) writer for the graphs Reckon trains: no protobuf dependency, just the wire format
 * (varints and length-delimited fields) for the handful of messages a model file needs. Field numbers follow
 * onnx/onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto, TypeProto).
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

class Writer {
  private readonly chunks: number[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt(value);
    if (v < 0n) v = (1n << 64n) + v; // negative int64 → two's complement, 10 bytes
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    for (const b of data) this.chunks.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2;

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  /** Stored as float32 (raw_data, little-endian). */
  values: ArrayLike<number>;
}

/** Integer attributes only: the graphs written here need no other kind. */
export interface OnnxAttribute {
  name: string;
  i: number;
}

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes?: readonly OnnxAttribute[];
}

/** A float tensor's declared type; a string dim is symbolic (e.g. the batch size "N"). */
export interface OnnxValueInfo {
  name: string;
  dims: readonly (number | string)[];
  doc?: string;
}

export interface OnnxModelSpec {
  graphName: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  opset: number;
  producer: string;
  doc?: string;
  /** Stored as ModelProto.metadata_props (readable from onnxruntime's session metadata). */
  metadata?: Readonly<Record<string, string>>;
}

function tensor(w: Writer, t: OnnxTensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, FLOAT);
  w.string(8, t.name);
  const raw = new Uint8Array(new Float32Array(Array.from(t.values)).buffer);
  w.bytes(9, raw);
}

function valueInfo(w: Writer, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, FLOAT);
      tt.message(2, (shape) => {
        for (const d of v.dims)
          shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
  if (v.doc) w.string(3, v.doc);
}

/** Serialises a ModelProto (IR version 8). */
export function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const model = new Writer();
  model.int(1, 8); // ir_version
  model.string(2, spec.producer);
  model.string(3, "1");
  if (spec.doc) model.string(6, spec.doc);
  model.message(7, (g) => {
    for (const n of spec.nodes)
      g.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, n.name);
        node.string(4, n.opType);
        for (const a of n.attributes ?? [])
          node.message(5, (attr) => attr.string(1, a.name).int(3, a.i).int(20, ATTR_INT));
      });
    g.string(2, spec.graphName);
    for (const t of spec.initializers) g.message(5, (w) => tensor(w, t));
    for (const v of spec.inputs) g.message(11, (w) => valueInfo(w, v));
    for (const v of spec.outputs) g.message(12, (w) => valueInfo(w, v));
  });
  model.message(8, (op) => op.string(1, "").int(2, spec.opset));
  for (const [key, value] of Object.entries(spec.metadata ?? {}))
    model.message(14, (kv) => kv.string(1, key).string(2, value));
  return model.finish();
}
