import type { ReadModel, UserCandidates } from "./read-model.ts";
import type { ItemId, ItemInfo, Neighbour, ScoredItem, UserId } from "./types.ts";

export interface InMemoryReadModelData {
  /** Per user, consumed items most recent first. */
  readonly histories: ReadonlyMap<UserId, readonly ItemId[]>;
  readonly neighbours: ReadonlyMap<ItemId, readonly Neighbour[]>;
  readonly itemBias?: ReadonlyMap<ItemId, number>;
  /** What users took right after each item (ModelArtifact.followers). */
  readonly followers?: ReadonlyMap<ItemId, readonly Neighbour[]>;
  /** Precomputed per-user lists; `newSeeds` default to none (the history is what the model was trained on). */
  readonly userCandidates?: ReadonlyMap<
    UserId,
    { readonly items: readonly ScoredItem[]; readonly newSeeds?: readonly ItemId[] }
  >;
  /** Best first. */
  readonly popular: readonly ScoredItem[];
  /** Best first; defaults to `popular`. */
  readonly trending?: readonly ScoredItem[];
  readonly items?: ReadonlyMap<ItemId, ItemInfo>;
}

/** ReadModel over plain maps: offline evaluation, tests and the embedded mode's warm start. */
export class InMemoryReadModel implements ReadModel {
  readonly #data: InMemoryReadModelData;

  constructor(data: InMemoryReadModelData) {
    this.#data = data;
  }

  async userHistory(userId: UserId, limit?: number): Promise<readonly ItemId[]> {
    const history = this.#data.histories.get(userId) ?? [];
    return limit === undefined ? history : history.slice(0, limit);
  }

  async userCandidates(userId: UserId): Promise<UserCandidates | undefined> {
    const entry = this.#data.userCandidates?.get(userId);
    return entry && { items: entry.items, newSeeds: entry.newSeeds ?? [] };
  }

  async itemNeighbours(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, readonly Neighbour[]>> {
    const found = new Map<ItemId, readonly Neighbour[]>();
    for (const id of itemIds) {
      const list = this.#data.neighbours.get(id);
      if (list) found.set(id, list);
    }
    return found;
  }

  async itemFollowers(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, readonly Neighbour[]>> {
    const found = new Map<ItemId, readonly Neighbour[]>();
    for (const id of itemIds) {
      const list = this.#data.followers?.get(id);
      if (list) found.set(id, list);
    }
    return found;
  }

  async itemBias(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, number>> {
    const found = new Map<ItemId, number>();
    const bias = this.#data.itemBias;
    if (!bias) return found;
    for (const id of itemIds) {
      const b = bias.get(id);
      if (b !== undefined) found.set(id, b);
    }
    return found;
  }

  async popularItems(limit: number): Promise<readonly ScoredItem[]> {
    return this.#data.popular.slice(0, limit);
  }

  async trendingItems(limit: number): Promise<readonly ScoredItem[]> {
    return (this.#data.trending ?? this.#data.popular).slice(0, limit);
  }

  async itemInfo(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, ItemInfo>> {
    const found = new Map<ItemId, ItemInfo>();
    const items = this.#data.items;
    if (!items) return found;
    for (const id of itemIds) {
      const info = items.get(id);
      if (info) found.set(id, info);
    }
    return found;
  }
}
