import type { InteractionMatrix } from "../interactions.ts";
import { spdInverse } from "../linalg.ts";
import { topKIndices } from "../top-k.ts";
import type { ItemId, Neighbour, ScoredItem, UserId } from "../types.ts";
import { sparseUserCandidates, userCandidateGroups, UserScoreBlock } from "./user-candidates.ts";

export interface EaseParams {
  /** L2 regularisation λ. */
  readonly lambda: number;
  /** Neighbours kept per item (the truncated row of B). */
  readonly k: number;
  /** Items with fewer training users get no row or column. Default 1 (all items). */
  readonly minItemCount?: number;
  /**
   * "primal" inverts the items×items Gram matrix; "dual" uses the Woodbury identity and inverts a
   * users×users matrix instead. Both give the same B; "auto" picks the smaller side.
   */
  readonly solver?: "auto" | "primal" | "dual";
  /**
   * EDLAE-style emphasis on denoising (Steck 2020): each item's penalty grows with its popularity,
   * Λ_ii = λ + p/(1−p)·count_i, which is the closed form of training with input dropout rate p.
   * Default 0: plain EASE.
   */
  readonly dropout?: number;
  /**
   * Popularity debiasing β: column j of B is divided by count_j^β (count_j = training users of item j), so an
   * item's score is deflated by its popularity (Steck 2011, "Item popularity and recommendation accuracy";
   * the same factor as RP3beta's). Scaling columns keeps the model linear and additive over history items, so
   * neighbour rows, user lists and serving all see one matrix. Default 0: textbook EASE.
   */
  readonly popularityExponent?: number;
  /** Estimate the entries that top-K truncation drops (ModelArtifact.itemBias). Default true. */
  readonly biasCorrection?: boolean;
  /** Also compute each training user's top-M items by the full x_u·B (ModelArtifact.userCandidates). 0 = no. */
  readonly userTopM?: number;
  /** Users × items cells accumulated per pass over the rows of B when computing user candidates. */
  readonly userScoreCells?: number;
  /**
   * Most multiply-adds (training interactions × items) spent on exact user lists; beyond it the lists come from
   * the truncated rows (interactions × K). Default 5e9 (about a minute here).
   */
  readonly userScoreBudget?: number;
}

/**
 * EASE (Steck 2019): B = I − P·diagMat(1/diag(P)) with P = (XᵀX + λI)⁻¹, diag(B) = 0,
 * i.e. B_ij = −P_ij / P_jj. A user's scores are x_u·B = Σ over their items i of row i of B, so the
 * top-K of each row is exactly a neighbour list.
 */
export interface EaseArtifact {
  readonly neighbours: Map<ItemId, Neighbour[]>;
  /** Per item, the estimate r_j of the entries of column j that truncation dropped (see ModelArtifact). */
  readonly itemBias: Map<ItemId, number>;
  /** Per training user, the top-M unseen items by the untruncated x_u·B (empty unless `userTopM`). */
  readonly userCandidates: Map<UserId, ScoredItem[]>;
}

export function trainEase(data: InteractionMatrix, params: EaseParams): EaseArtifact {
  const { columns, rowOfB } = easeRows(data, params);
  const n = columns.length;
  // r_j is a mean over rows weighted by item popularity, because a user's history items are drawn that way.
  const weight = columns.map((i) => data.itemUsers[i]!.length);
  const totalWeight = weight.reduce((a, b) => a + b, 0);
  const columnSum = new Float64Array(n);
  const keptSum = new Float64Array(n);
  const keptWeight = new Float64Array(n);
  const kept: { indices: number[]; weights: number[] }[] = [];
  const scratch = new Float64Array(n);
  const topM = params.userTopM ?? 0;
  let interactions = 0;
  for (const i of columns) interactions += data.itemUsers[i]!.length;
  const exact = topM > 0 && interactions * n <= (params.userScoreBudget ?? 5e9);
  const groups = exact ? userCandidateGroups(data.userIds.length, n, params.userScoreCells) : [];
  // The first group of users is scored in the same pass that truncates the rows; any further group streams
  // the rows again (only when users × items exceeds the cell budget).
  const firstBlock = groups.length > 0 ? new UserScoreBlock(data, columns, groups[0]!) : undefined;
  for (let c = 0; c < n; c++) {
    rowOfB(c, scratch);
    scratch[c] = 0;
    firstBlock?.add(c, scratch);
    const w = weight[c]!;
    for (let j = 0; j < n; j++) columnSum[j]! += w * scratch[j]!;
    const best = topKIndices(scratch, params.k, c);
    for (const j of best) {
      keptSum[j]! += w * scratch[j]!;
      keptWeight[j]! += w;
    }
    kept.push({ indices: best, weights: best.map((j) => scratch[j]!) });
  }
  const bias = new Float64Array(n);
  if (params.biasCorrection ?? true) {
    for (let j = 0; j < n; j++) {
      // Row j itself never seeds candidate j (consumed items are excluded), so it is left out of the mean.
      const rest = totalWeight - keptWeight[j]! - weight[j]!;
      bias[j] = rest > 1e-9 ? (columnSum[j]! - keptSum[j]!) / rest : 0;
    }
  }
  const userCandidates = new Map<UserId, ScoredItem[]>();
  firstBlock?.topM(topM, userCandidates);
  for (const group of groups.slice(1)) {
    const block = new UserScoreBlock(data, columns, group);
    for (let c = 0; c < n; c++) {
      rowOfB(c, scratch);
      scratch[c] = 0;
      block.add(c, scratch);
    }
    block.topM(topM, userCandidates);
  }
  const neighbours = new Map<ItemId, Neighbour[]>();
  const itemBias = new Map<ItemId, number>();
  kept.forEach(({ indices, weights }, c) => {
    const id = data.itemIds[columns[c]!]!;
    if (bias[c] !== 0) itemBias.set(id, bias[c]!);
    neighbours.set(
      id,
      indices.map((j, q) => ({ item_id: data.itemIds[columns[j]!]!, score: weights[q]! - bias[j]! })),
    );
  });
  if (topM > 0 && !exact) {
    for (const [user, list] of sparseUserCandidates(data, neighbours, itemBias, topM))
      userCandidates.set(user, list);
  }
  return { neighbours, itemBias, userCandidates };
}

export interface EaseRows {
  /** Item index (in the InteractionMatrix) of each column of B. */
  readonly columns: readonly number[];
  /** Writes row `c` of B into `out` (length columns.length); the diagonal entry is meaningless. */
  readonly rowOfB: RowOfB;
}

/** The full (untruncated) rows of B, produced one at a time; used by training and by truncation studies. */
export function easeRows(
  data: InteractionMatrix,
  params: Omit<EaseParams, "k" | "biasCorrection">,
): EaseRows {
  const minCount = params.minItemCount ?? 1;
  const columns: number[] = [];
  data.itemUsers.forEach((users, i) => {
    if (users.length >= minCount) columns.push(i);
  });
  const columnOf = new Int32Array(data.itemIds.length).fill(-1);
  columns.forEach((i, c) => (columnOf[i] = c));
  const rows = data.userItems.map((items) => {
    const out: number[] = [];
    for (const i of items) if (columnOf[i]! >= 0) out.push(columnOf[i]!);
    return Int32Array.from(out);
  });
  const n = columns.length;
  const solver = params.solver ?? "auto";
  const useDual = solver === "dual" || (solver === "auto" && rows.length < n);
  const dropout = params.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${dropout}`);
  const penalty = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    penalty[c] = params.lambda + (dropout / (1 - dropout)) * data.itemUsers[columns[c]!]!.length;
  }
  const rowOfB = useDual ? dualRows(rows, n, penalty) : primalRows(rows, n, penalty);
  const beta = params.popularityExponent ?? 0;
  if (!(beta >= 0)) throw new RangeError(`popularityExponent must be ≥ 0, got ${beta}`);
  if (beta === 0) return { columns, rowOfB };
  const scale = popularityScale(
    columns.map((i) => data.itemUsers[i]!.length),
    beta,
  );
  return {
    columns,
    rowOfB: (i, out) => {
      rowOfB(i, out);
      for (let j = 0; j < n; j++) out[j]! *= scale[j]!;
    },
  };
}

/** Per column, count^−β: the popularity-debiasing factor applied to the columns of B. */
export function popularityScale(counts: readonly number[], beta: number): Float64Array {
  return Float64Array.from(counts, (count) => Math.pow(Math.max(1, count), -beta));
}

type RowOfB = (i: number, out: Float64Array) => void;

function primalRows(rows: readonly Int32Array[], n: number, penalty: Float64Array): RowOfB {
  const gram = new Float64Array(n * n);
  for (const items of rows) {
    for (const a of items) {
      const ra = a * n;
      for (const b of items) gram[ra + b]! += 1;
    }
  }
  for (let i = 0; i < n; i++) gram[i * n + i]! += penalty[i]!;
  const p = spdInverse(gram, n);
  const invDiag = new Float64Array(n);
  for (let j = 0; j < n; j++) invDiag[j] = -1 / p[j * n + j]!;
  return (i, out) => {
    const ri = i * n;
    for (let j = 0; j < n; j++) out[j] = p[ri + j]! * invDiag[j]!;
  };
}

/**
 * Woodbury, with Λ the diagonal penalty: (Λ + XᵀX)⁻¹ = Λ⁻¹ − Λ⁻¹·M·Λ⁻¹ where M = XᵀKX and
 * K = (I + XΛ⁻¹Xᵀ)⁻¹, hence B_ij = M_ij·Λ_j / (Λ_i·(Λ_j − M_jj)). Costs a users×users inverse plus one
 * dense row per item, built on demand, so no items×items matrix is ever held.
 */
function dualRows(rows: readonly Int32Array[], n: number, penalty: Float64Array): RowOfB {
  const m = rows.length;
  const itemUsers: number[][] = Array.from({ length: n }, () => []);
  rows.forEach((items, u) => {
    for (const i of items) itemUsers[i]!.push(u);
  });
  const gram = new Float64Array(m * m);
  itemUsers.forEach((users, j) => {
    const w = 1 / penalty[j]!;
    for (const u of users) {
      const ru = u * m;
      for (const v of users) gram[ru + v]! += w;
    }
  });
  for (let u = 0; u < m; u++) gram[u * m + u]! += 1;
  const k = spdInverse(gram, m);
  // kx[u][j] = (K·X)[u][j] = Σ_{v ∋ j} K[u][v]
  const kx = new Float64Array(m * n);
  for (let u = 0; u < m; u++) {
    const ru = u * m;
    const out = u * n;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (const v of itemUsers[j]!) s += k[ru + v]!;
      kx[out + j] = s;
    }
  }
  const scale = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let mjj = 0;
    for (const u of itemUsers[j]!) mjj += kx[u * n + j]!;
    scale[j] = penalty[j]! / (penalty[j]! - mjj);
  }
  return (i, out) => {
    out.fill(0);
    for (const u of itemUsers[i]!) {
      const ru = u * n;
      for (let j = 0; j < n; j++) out[j]! += kx[ru + j]!;
    }
    const rowScale = 1 / penalty[i]!;
    for (let j = 0; j < n; j++) out[j]! *= scale[j]! * rowScale;
  };
}
