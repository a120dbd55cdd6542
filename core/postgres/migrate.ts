import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Database } from "./database.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const MIGRATIONS_DIR = path.join(HERE, "migrations");
/** Serialises concurrent migrators (several replicas starting at once). */
const MIGRATION_LOCK = 7_406_231;

/**
 * Applies every `NNN_name.sql` in order, each once, in its own transaction.
 * Other folders (e.g. analytics) may pass their own directory; names are recorded with the directory's label.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR, label = "core"): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await tx.query<{ name: string }>("SELECT name FROM schema_migrations")).rows.map((r) => r.name),
    );
    const applied: string[] = [];
    for (const file of files) {
      const name = `${label}/${file}`;
      if (done.has(name)) continue;
      await tx.query(await readFile(path.join(dir, file), "utf8"));
      await tx.query("INSERT INTO schema_migrations (name) VALUES ($1)", [name]);
      applied.push(name);
    }
    return applied;
  });
}
