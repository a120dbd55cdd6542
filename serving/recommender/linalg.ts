/**
 * Dense symmetric positive-definite inverse for EASE, on row-major Float64Array.
 * Plain JS loops, arranged so every inner loop is a dot product over contiguous memory and
 * each loaded row is reused several times (2×2 register blocks): on this class of machine that is
 * what separates ~1 GFLOP/s from ~0.1.
 */

/**
 * In-place blocked right-looking Cholesky: on return the lower triangle of `a` holds L with A = L·Lᵀ.
 * The strict upper triangle is left untouched. Throws if A is not positive definite.
 */
export function choleskyInPlace(a: Float64Array, n: number, blockSize = 64): void {
  checkSquare(a, n);
  const panel = new Float64Array(n * blockSize);
  for (let k0 = 0; k0 < n; k0 += blockSize) {
    const kb = Math.min(blockSize, n - k0);
    const k1 = k0 + kb;
    // Diagonal block: contributions of earlier blocks were already subtracted by their trailing updates.
    for (let j = k0; j < k1; j++) {
      const rj = j * n;
      let d = a[rj + j]!;
      for (let p = k0; p < j; p++) d -= a[rj + p]! * a[rj + p]!;
      if (!(d > 0)) throw new Error(`matrix is not positive definite (pivot ${j} is ${d})`);
      const ljj = Math.sqrt(d);
      a[rj + j] = ljj;
      for (let i = j + 1; i < k1; i++) {
        const ri = i * n;
        let s = a[ri + j]!;
        for (let p = k0; p < j; p++) s -= a[ri + p]! * a[rj + p]!;
        a[ri + j] = s / ljj;
      }
    }
    // Panel below the diagonal block, also copied into a dense buffer the trailing update streams over.
    const m = n - k1;
    for (let i = k1; i < n; i++) {
      const ri = i * n;
      const pi = (i - k1) * kb;
      for (let j = k0; j < k1; j++) {
        const rj = j * n;
        let s = a[ri + j]!;
        for (let p = k0; p < j; p++) s -= a[ri + p]! * a[rj + p]!;
        const v = s / a[rj + j]!;
        a[ri + j] = v;
        panel[pi + j - k0] = v;
      }
    }
    // Trailing lower triangle: A[i][j] -= panel_i · panel_j, two rows by two rows.
    for (let i = 0; i < m; i += 2) {
      const i1 = i + 1 < m ? i + 1 : i;
      const pi0 = i * kb;
      const pi1 = i1 * kb;
      const ra0 = (k1 + i) * n + k1;
      const ra1 = (k1 + i1) * n + k1;
      for (let j = 0; j <= i1; j += 2) {
        const j1 = j + 1 <= i1 ? j + 1 : j;
        const pj0 = j * kb;
        const pj1 = j1 * kb;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        for (let p = 0; p < kb; p++) {
          const x0 = panel[pi0 + p]!;
          const x1 = panel[pi1 + p]!;
          const y0 = panel[pj0 + p]!;
          const y1 = panel[pj1 + p]!;
          s00 += x0 * y0;
          s01 += x0 * y1;
          s10 += x1 * y0;
          s11 += x1 * y1;
        }
        // Only entries on or below the diagonal are written; duplicated edge rows/cols are skipped.
        if (j <= i) a[ra0 + j]! -= s00;
        if (j1 !== j && j1 <= i) a[ra0 + j1]! -= s01;
        if (i1 !== i) {
          a[ra1 + j]! -= s10;
          if (j1 !== j) a[ra1 + j1]! -= s11;
        }
      }
    }
  }
}

/**
 * Inverse of a symmetric positive-definite matrix (full symmetric result, new array).
 * A = L·Lᵀ, V = L⁻¹ᵀ row by row (row j of V solves L·w = e_j), then A⁻¹ = V·Vᵀ. About n³/2 multiply-adds.
 */
export function spdInverse(a: Float64Array, n: number, blockSize = 64): Float64Array {
  const l = Float64Array.from(a);
  choleskyInPlace(l, n, blockSize);
  // v[j*n + k] = (L⁻¹)[k][j], zero for k < j: forward substitution, two right-hand sides at a time so each
  // row of L is read once for both.
  const v = new Float64Array(n * n);
  for (let j = 0; j < n; j += 2) {
    const j1 = j + 1 < n ? j + 1 : j;
    const r0 = j * n;
    const r1 = j1 * n;
    v[r0 + j] = 1 / l[j * n + j]!;
    for (let k = j + 1; k < n; k++) {
      const rk = k * n;
      let s0 = 0;
      let s1 = 0;
      for (let p = j; p < k; p++) {
        const lkp = l[rk + p]!;
        s0 += lkp * v[r0 + p]!;
        s1 += lkp * v[r1 + p]!;
      }
      const lkk = l[rk + k]!;
      v[r0 + k] = -s0 / lkk;
      if (j1 !== j) v[r1 + k] = k === j1 ? 1 / lkk : -s1 / lkk;
    }
  }
  // A⁻¹[i][j] = Σ_{k ≥ max(i,j)} v[i][k]·v[j][k]; rows of V vanish before their index, so dots start at j.
  const inv = l; // L is no longer needed
  for (let i = 0; i < n; i += 2) {
    const i1 = i + 1 < n ? i + 1 : i;
    const ri0 = i * n;
    const ri1 = i1 * n;
    for (let j = i; j < n; j += 2) {
      const j1 = j + 1 < n ? j + 1 : j;
      const rj0 = j * n;
      const rj1 = j1 * n;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let p = j; p < n; p++) {
        const x0 = v[ri0 + p]!;
        const x1 = v[ri1 + p]!;
        const y0 = v[rj0 + p]!;
        const y1 = v[rj1 + p]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      inv[ri0 + j] = s00;
      inv[rj0 + i] = s00;
      inv[ri0 + j1] = s01;
      inv[rj1 + i] = s01;
      inv[ri1 + j] = s10;
      inv[rj0 + i1] = s10;
      inv[ri1 + j1] = s11;
      inv[rj1 + i1] = s11;
    }
  }
  return inv;
}

function checkSquare(a: Float64Array, n: number): void {
  if (a.length !== n * n) throw new RangeError(`expected ${n}×${n} = ${n * n} entries, got ${a.length}`);
}
