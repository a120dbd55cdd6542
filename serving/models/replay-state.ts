import { categoryAffinity, featureRow, type CandidateSignals } from "../ranking/features.ts";

/**
 * Point-in-time state for training examples: the read models' signals rebuilt by replaying interactions in
 * event-time order, so an example built just before applying event e sees only what was known before e.
 * Mirrors what serving reads from Redis (recent items, co-occurrence, decayed popularity and affinities)
 * with the same definitions, in memory.
 */
export interface ReplayOptions {
  historyCap: number;
  historySeeds: number;
  pool: number;
  shortHalfLifeMs: number;
  longHalfLifeMs: number;
  affinityHalfLifeMs: number;
  typeWeights: Readonly<Record<string, number>>;
  /** Recompute the trending/popular top lists every this many events (serving caches them too). */
  topListEvery: number;
}

interface Decayed {
  value: number;
  at: number;
}

function decayTo(d: Decayed, t: number, halfLife: number): number {
  return d.value * Math.pow(2, -Math.max(0, t - d.at) / halfLife);
}

function bump(map: Map<string, Decayed>, key: string, t: number, halfLife: number, weight: number): void {
  const d = map.get(key);
  map.set(key, { value: (d ? decayTo(d, t, halfLife) : 0) + weight, at: t });
}

const cosine = (co: number, a: number, b: number) => (co > 0 && a > 0 && b > 0 ? co / Math.sqrt(a * b) : 0);

export class ReplayState {
  private readonly recent = new Map<string, { item: string; type: string }[]>();
  private readonly co = new Map<string, Map<string, number>>();
  private readonly count = new Map<string, number>();
  private readonly shortPop = new Map<string, Decayed>();
  private readonly longPop = new Map<string, Decayed>();
  private readonly affinity = new Map<string, Map<string, Decayed>>();
  readonly categories = new Map<string, string[]>();
  private trendingTop: string[] = [];
  private popularTop: string[] = [];
  private sinceTop = 0;
  private now = 0;

  constructor(private readonly o: ReplayOptions) {}

  setCategories(item: string, categories: string[]): void {
    this.categories.set(item, categories);
  }

  history(user: string): readonly { item: string; type: string }[] {
    return this.recent.get(user) ?? [];
  }

  /** The candidate signals of `items` for `user` at time t, from state before t (same definitions as serving). */
  signals(user: string, t: number, items: readonly string[]): CandidateSignals[] {
    const history = this.history(user).map((h) => h.item);
    const retrieval = this.retrievalRanks(history.slice(0, this.o.historySeeds));
    const last = history.length > 0 ? this.neighbourRanks(history[0]!, 50) : new Map<string, number>();
    const trending = new Map(this.trendingTop.map((id, i) => [id, i]));
    const popular = new Map(this.popularTop.map((id, i) => [id, i]));
    const aff = new Map<string, number>();
    let total = 0;
    for (const [c, d] of this.affinity.get(user) ?? []) {
      const v = decayTo(d, t, this.o.affinityHalfLifeMs);
      aff.set(c, v);
      total += v;
    }
    return items.map((item) => ({
      retrievalRank: retrieval.get(item),
      lastItemRank: last.get(item),
      trendingRank: trending.get(item),
      popularRank: popular.get(item),
      categoryAffinity: categoryAffinity(this.categories.get(item) ?? [], aff, total),
    }));
  }

  rows(user: string, t: number, items: readonly string[]): number[][] {
    return this.signals(user, t, items).map(featureRow);
  }

  /** What serving's candidate generation would offer this user now (retrieval, last item, trending, popular). */
  candidatePool(user: string): string[] {
    const history = this.history(user).map((h) => h.item);
    const out = new Set<string>();
    for (const id of this.retrievalRanks(history.slice(0, this.o.historySeeds)).keys()) out.add(id);
    if (history.length > 0) for (const id of this.neighbourRanks(history[0]!, 50).keys()) out.add(id);
    for (const id of this.trendingTop.slice(0, 50)) out.add(id);
    for (const id of this.popularTop.slice(0, 50)) out.add(id);
    return [...out];
  }

  private neighbourRanks(item: string, k: number): Map<string, number> {
    const row = this.co.get(item);
    if (!row) return new Map();
    const own = this.count.get(item) ?? 0;
    const scored = [...row].map(([j, c]) => [j, cosine(c, own, this.count.get(j) ?? 0)] as const);
    scored.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return new Map(scored.slice(0, k).map(([j], i) => [j, i]));
  }

  private retrievalRanks(seeds: readonly string[]): Map<string, number> {
    const scores = new Map<string, number>();
    for (const s of seeds) {
      const row = this.co.get(s);
      if (!row) continue;
      const own = this.count.get(s) ?? 0;
      for (const [j, c] of row) scores.set(j, (scores.get(j) ?? 0) + cosine(c, own, this.count.get(j) ?? 0));
    }
    const seedSet = new Set(seeds);
    const ranked = [...scores].filter(([j]) => !seedSet.has(j));
    ranked.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return new Map(ranked.slice(0, this.o.pool).map(([j], i) => [j, i]));
  }

  apply(user: string, item: string, type: string, t: number): void {
    this.now = Math.max(this.now, t);
    const weight = this.o.typeWeights[type] ?? 1;
    const list = this.recent.get(user) ?? [];
    const existing = list.findIndex((h) => h.item === item);
    if (existing >= 0) list.splice(existing, 1);
    else {
      // Co-occurrence as the recommendations projection counts it: with the user's latest distinct items.
      this.count.set(item, (this.count.get(item) ?? 0) + 1);
      for (const h of list.slice(0, this.o.historyCap)) {
        const a = this.co.get(item) ?? new Map<string, number>();
        a.set(h.item, (a.get(h.item) ?? 0) + 1);
        this.co.set(item, a);
        const b = this.co.get(h.item) ?? new Map<string, number>();
        b.set(item, (b.get(item) ?? 0) + 1);
        this.co.set(h.item, b);
      }
    }
    list.unshift({ item, type });
    if (list.length > 100) list.length = 100;
    this.recent.set(user, list);
    bump(this.shortPop, item, t, this.o.shortHalfLifeMs, weight);
    bump(this.longPop, item, t, this.o.longHalfLifeMs, weight);
    const aff = this.affinity.get(user) ?? new Map<string, Decayed>();
    for (const c of this.categories.get(item) ?? []) bump(aff, c, t, this.o.affinityHalfLifeMs, weight);
    this.affinity.set(user, aff);
    if (++this.sinceTop >= this.o.topListEvery || this.trendingTop.length === 0) this.refreshTopLists();
  }

  private refreshTopLists(): void {
    this.sinceTop = 0;
    const top = (m: Map<string, Decayed>, h: number, k: number) =>
      [...m]
        .map(([id, d]) => [id, decayTo(d, this.now, h)] as const)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, k)
        .map(([id]) => id);
    this.trendingTop = top(this.shortPop, this.o.shortHalfLifeMs, 100);
    this.popularTop = top(this.longPop, this.o.longHalfLifeMs, 200);
  }
}
