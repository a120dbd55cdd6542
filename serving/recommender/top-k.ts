/**
 * Indices of the k largest values (best first, ties by lower index), skipping `skip` and values ≤ `floor`.
 * A bounded min-heap: most entries of a long row fail the threshold test and cost one comparison.
 */
export function topKIndices(
  values: ArrayLike<number>,
  k: number,
  skip = -1,
  floor = -Infinity,
  start = 0,
  end = values.length,
): number[] {
  if (k <= 0) return [];
  const heapIdx = new Int32Array(k);
  const heapVal = new Float64Array(k);
  let size = 0;
  // "worse" = smaller value, or equal value with larger index: the heap root is the worst kept entry.
  const worse = (va: number, ia: number, vb: number, ib: number) => va < vb || (va === vb && ia > ib);
  const siftDown = (pos: number) => {
    for (;;) {
      const l = 2 * pos + 1;
      if (l >= size) return;
      const r = l + 1;
      let m = l;
      if (r < size && worse(heapVal[r]!, heapIdx[r]!, heapVal[l]!, heapIdx[l]!)) m = r;
      if (!worse(heapVal[m]!, heapIdx[m]!, heapVal[pos]!, heapIdx[pos]!)) return;
      swap(pos, m);
      pos = m;
    }
  };
  const swap = (a: number, b: number) => {
    const v = heapVal[a]!;
    heapVal[a] = heapVal[b]!;
    heapVal[b] = v;
    const i = heapIdx[a]!;
    heapIdx[a] = heapIdx[b]!;
    heapIdx[b] = i;
  };
  for (let j = start; j < end; j++) {
    if (j === skip) continue;
    const v = values[j]!;
    if (!(v > floor)) continue;
    if (size < k) {
      let pos = size++;
      heapVal[pos] = v;
      heapIdx[pos] = j;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if (!worse(heapVal[pos]!, heapIdx[pos]!, heapVal[parent]!, heapIdx[parent]!)) break;
        swap(pos, parent);
        pos = parent;
      }
    } else if (worse(heapVal[0]!, heapIdx[0]!, v, j)) {
      heapVal[0] = v;
      heapIdx[0] = j;
      siftDown(0);
    }
  }
  const out = Array.from(heapIdx.subarray(0, size));
  return out.sort((a, b) => values[b]! - values[a]! || a - b);
}
