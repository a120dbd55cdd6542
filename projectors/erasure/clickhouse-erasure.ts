import type { ClickHouseStore } from "../../core/clickhouse/port.ts";

/**
 * Deletes the users' rows from every table of the analytics database that has a `user_id` column (events,
 * first exposures, per-user experiment totals, and any table added later), views excepted: their rows live in
 * the tables they write to. `ALTER TABLE … DELETE` with `mutations_sync = 2` rewrites the parts before it
 * returns, so the rows are physically gone (a lightweight DELETE would only mask them until a merge).
 * Returns the rows deleted per user and table (users and tables with none are absent).
 */
export async function eraseClickHouseRows(
  ch: ClickHouseStore,
  database: string,
  userIds: readonly string[],
): Promise<Map<string, Record<string, number>>> {
  const tables = await ch.query<{ table: string }>(
    `SELECT table FROM system.columns
      WHERE database = {db:String} AND name = 'user_id'
        AND table IN (SELECT name FROM system.tables WHERE database = {db:String} AND engine NOT LIKE '%View')
      ORDER BY table`,
    { db: database },
  );
  const deleted = new Map<string, Record<string, number>>();
  for (const { table } of tables) {
    const qualified = `${quoteIdentifier(database)}.${quoteIdentifier(table)}`;
    const found = await ch.query<{ user_id: string; n: string }>(
      `SELECT user_id, count() AS n FROM ${qualified} WHERE user_id IN {ids:Array(String)} GROUP BY user_id`,
      { ids: [...userIds] },
    );
    if (found.length === 0) continue;
    for (const { user_id, n } of found) {
      const ofUser = deleted.get(user_id) ?? {};
      ofUser[table] = Number(n);
      deleted.set(user_id, ofUser);
    }
    await ch.command(
      `ALTER TABLE ${qualified} DELETE WHERE user_id IN {ids:Array(String)} SETTINGS mutations_sync = 2`,
      { ids: [...userIds] },
    );
  }
  return deleted;
}

const quoteIdentifier = (name: string) => `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
