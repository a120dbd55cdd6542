import { readFile } from "node:fs/promises";
import type { Interaction } from "../recommender/interactions.ts";

/**
 * Reads a MovieLens-style ratings CSV (userId,movieId,rating,timestamp with a header row). Ratings are
 * dropped on purpose: the protocol treats every rating as an implicit interaction.
 */
export async function loadRatingsCsv(path: string): Promise<Interaction[]> {
  const text = await readFile(path, "utf8");
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split(",").map((h) => h.trim());
  const userCol = header.indexOf("userId");
  const itemCol = header.indexOf("movieId");
  const timeCol = header.indexOf("timestamp");
  if (userCol < 0 || itemCol < 0) {
    throw new Error(`${path}: expected a header with userId and movieId columns, got "${lines[0] ?? ""}"`);
  }
  const rows: Interaction[] = [];
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    if (line === "") continue;
    const cells = line.split(",");
    const userId = cells[userCol];
    const itemId = cells[itemCol];
    if (!userId || !itemId) throw new Error(`${path}:${n + 1}: missing userId or movieId in "${line}"`);
    const timestamp = timeCol >= 0 ? Number(cells[timeCol]) : n;
    rows.push({ userId, itemId, timestamp: Number.isFinite(timestamp) ? timestamp : n });
  }
  return rows;
}
