import { meanMetrics, userMetrics } from "../eval/metrics.ts";
import { rankContext } from "../ranking/rank.ts";
import type { Ranker } from "./model-holder.ts";
import type { HeldOutUser, Protocol } from "./held-out-lists.ts";

/**
 * The ranker gate: a ranker goes live only when the list it produces through serving's ranking code
 * (rankContext: candidate sources → catalog rules → ranker → diversity cap) beats the list of the ranker serving
 * now, on held-out users it was not fitted on, under both protocols. AUC over sampled pairs is not the question:
 * a ranker can order most pairs right and still push the items users take next below the tenth place.
 */
export interface ListQuality {
  readonly ndcg: number;
  readonly recall: number;
  readonly users: number;
}

export type ProtocolQuality = Readonly<Record<Protocol, ListQuality>>;

/** nDCG@k and recall@k of the lists `ranker` produces for the gate's held-out users. */
export async function listQuality(
  ranker: Ranker,
  users: readonly HeldOutUser[],
  k: number,
): Promise<ListQuality> {
  const perUser = [];
  for (const u of users) {
    const list = await rankContext(u.context, ranker, k);
    perUser.push(
      userMetrics(
        list.map((i) => i.item_id),
        u.relevant,
        k,
      ),
    );
  }
  if (perUser.length === 0) return { ndcg: Number.NaN, recall: Number.NaN, users: 0 };
  const m = meanMetrics(perUser);
  return { ndcg: round(m.ndcg), recall: round(m.recall), users: perUser.length };
}

export interface GateDecision {
  readonly activate: boolean;
  readonly reason: string;
}

/**
 * Activate when, on every protocol, the candidate's nDCG@10 is higher than the current ranker's and its
 * recall@10 is not lower. A tie keeps what runs (a swap costs a reload and gains nothing); a figure that
 * could not be measured (no held-out user) refuses.
 */
export function gateDecision(
  candidate: ProtocolQuality,
  current: ProtocolQuality,
  currentName: string,
): GateDecision {
  const failures: string[] = [];
  const wins: string[] = [];
  for (const protocol of Object.keys(candidate) as Protocol[]) {
    const c = candidate[protocol];
    const o = current[protocol];
    if (!Number.isFinite(c.ndcg) || !Number.isFinite(o.ndcg)) {
      failures.push(`${protocol}: no held-out users to measure`);
      continue;
    }
    if (!(c.ndcg > o.ndcg)) failures.push(`${protocol} nDCG@10 ${c.ndcg} ≤ ${o.ndcg}`);
    else wins.push(`${protocol} nDCG@10 ${c.ndcg} > ${o.ndcg}`);
    if (c.recall < o.recall) failures.push(`${protocol} recall@10 ${c.recall} < ${o.recall}`);
    else wins.push(`${protocol} recall@10 ${c.recall} ≥ ${o.recall}`);
  }
  return failures.length === 0
    ? { activate: true, reason: `beats ${currentName}: ${wins.join("; ")}` }
    : { activate: false, reason: `does not beat ${currentName}: ${failures.join("; ")}` };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
