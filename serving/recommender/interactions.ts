import type { ItemId, UserId } from "./types.ts";

export interface Interaction {
  readonly userId: UserId;
  readonly itemId: ItemId;
  /** Seconds or milliseconds; only the order matters (most recent history first). */
  readonly timestamp: number;
}

/**
 * Binary user×item matrix in both sparse orientations, with dense integer indices.
 * Training code works on indices; artifacts speak ids again.
 */
export interface InteractionMatrix {
  readonly userIds: readonly UserId[];
  readonly itemIds: readonly ItemId[];
  /** Per user index: sorted distinct item indices. */
  readonly userItems: readonly Int32Array[];
  /** Per item index: sorted distinct user indices. */
  readonly itemUsers: readonly Int32Array[];
}

/** Repeated (user, item) pairs count once: every model here treats interactions as implicit and binary. */
export function buildInteractionMatrix(interactions: Iterable<Interaction>): InteractionMatrix {
  const userIndex = new Map<UserId, number>();
  const itemIndex = new Map<ItemId, number>();
  const userIds: UserId[] = [];
  const itemIds: ItemId[] = [];
  const perUser: Set<number>[] = [];
  for (const { userId, itemId } of interactions) {
    let u = userIndex.get(userId);
    if (u === undefined) {
      u = userIds.length;
      userIndex.set(userId, u);
      userIds.push(userId);
      perUser.push(new Set());
    }
    let i = itemIndex.get(itemId);
    if (i === undefined) {
      i = itemIds.length;
      itemIndex.set(itemId, i);
      itemIds.push(itemId);
    }
    perUser[u]!.add(i);
  }
  const userItems = perUser.map((s) => Int32Array.from(s).sort());
  const counts = new Int32Array(itemIds.length);
  for (const row of userItems) for (const i of row) counts[i]!++;
  const itemUsers = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(itemIds.length);
  userItems.forEach((row, u) => {
    for (const i of row) itemUsers[i]![fill[i]!++] = u;
  });
  return { userIds, itemIds, userItems, itemUsers };
}

/** Per user, consumed items most recent first (ties by id, for reproducibility). */
export function historiesByRecency(interactions: Iterable<Interaction>): Map<UserId, ItemId[]> {
  const latest = new Map<UserId, Map<ItemId, number>>();
  for (const { userId, itemId, timestamp } of interactions) {
    let items = latest.get(userId);
    if (!items) latest.set(userId, (items = new Map()));
    const seen = items.get(itemId);
    if (seen === undefined || timestamp > seen) items.set(itemId, timestamp);
  }
  const histories = new Map<UserId, ItemId[]>();
  for (const [userId, items] of latest) {
    const ordered = [...items].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    histories.set(
      userId,
      ordered.map(([id]) => id),
    );
  }
  return histories;
}
