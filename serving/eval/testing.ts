import type { Interaction } from "../recommender/interactions.ts";

/** One block of the generated data set: `users` users who each interacted with every one of `items` items. */
export interface RatingsGroup {
  readonly users: number;
  readonly items: number;
}

/**
 * A ratings data set with a known structure, for checking the evaluation code on exact numbers: disjoint
 * groups of users and items, every user of a group interacting with every item of that group and nothing else.
 * Items therefore co-occur only inside their group (EASE's B is block-diagonal), and an item's popularity is its
 * group's user count minus the users who hold it out. Ids are numeric strings, users and items numbered across
 * groups in order; timestamps count up in generation order.
 */
export function groupedRatings(groups: readonly RatingsGroup[]): Interaction[] {
  const rows: Interaction[] = [];
  let firstUser = 1;
  let firstItem = 1;
  for (const group of groups) {
    for (let u = firstUser; u < firstUser + group.users; u++) {
      for (let i = firstItem; i < firstItem + group.items; i++) {
        rows.push({ userId: String(u), itemId: String(i), timestamp: rows.length + 1 });
      }
    }
    firstUser += group.users;
    firstItem += group.items;
  }
  return rows;
}

/** The rows as a MovieLens-style ratings file (`userId,movieId,rating,timestamp`), what `reckon eval` reads. */
export function toRatingsCsv(rows: readonly Interaction[]): string {
  const lines = rows.map((r) => `${r.userId},${r.itemId},5.0,${r.timestamp}`);
  return ["userId,movieId,rating,timestamp", ...lines, ""].join("\n");
}
