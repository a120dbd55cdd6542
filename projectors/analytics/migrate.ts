import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import { logger } from "../../core/logger.ts";

/** The database every analytics table lives in. */
export const ANALYTICS_DATABASE = "reckon";

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));
const MIGRATION_FILE = /^(\d{3})_[a-z0-9_]+\.sql$/;

export interface AnalyticsMigration {
  version: number;
  name: string;
  statements: string[];
}

/** Reads `migrations/NNN_name.sql` in version order, each split into its statements. */
export async function loadAnalyticsMigrations(dir: string = MIGRATIONS_DIR): Promise<AnalyticsMigration[]> {
  const files = (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort();
  const migrations: AnalyticsMigration[] = [];
  for (const file of files) {
    const text = await readFile(`${dir}/${file}`, "utf8");
    migrations.push({
      version: Number(MIGRATION_FILE.exec(file)![1]),
      name: file.replace(/\.sql$/, ""),
      statements: splitStatements(text),
    });
  }
  return migrations;
}

/**
 * Statements end with `;` at the end of a line. Comment lines are removed first: the migrations hold no
 * string literal containing `;` or `--`, which keeps this split trivially correct.
 */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n");
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A migration's statement aimed at another database (the migrations name `reckon.` explicitly). */
export const inDatabase = (statement: string, database: string): string =>
  database === ANALYTICS_DATABASE ? statement : statement.replace(/\breckon\./g, `${database}.`);

/**
 * Creates every table and view of the schema in `database` (a fresh side database for a rebuild), from the
 * same migration files with the database name substituted. Not recorded in schema_migrations: the side
 * tables replace the live ones, whose migrations record stays where it is.
 */
export async function createAnalyticsSchema(ch: ClickHouseStore, database: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`bad analytics database name "${database}"`);
  await ch.command(`CREATE DATABASE IF NOT EXISTS ${database}`);
  for (const migration of await loadAnalyticsMigrations()) {
    for (const statement of migration.statements) await ch.command(inDatabase(statement, database));
  }
}

/**
 * Applies the migrations not yet recorded in `reckon.schema_migrations`, in order, and returns their names.
 * Every statement is `IF NOT EXISTS`, so two processes migrating at once, or a crash between a statement
 * and its record, leave the same schema after a rerun.
 */
export async function migrateAnalyticsSchema(ch: ClickHouseStore): Promise<string[]> {
  await ch.command(`CREATE DATABASE IF NOT EXISTS ${ANALYTICS_DATABASE}`);
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${ANALYTICS_DATABASE}.schema_migrations
     (version UInt32, name String, applied_at DateTime64(3, 'UTC'))
     ENGINE = ReplacingMergeTree ORDER BY version`,
  );
  const rows = await ch.query<{ version: number }>(
    `SELECT DISTINCT version FROM ${ANALYTICS_DATABASE}.schema_migrations`,
  );
  const applied = new Set(rows.map((r) => Number(r.version)));
  const done: string[] = [];
  for (const migration of await loadAnalyticsMigrations()) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) await ch.command(statement);
    await ch.insert(`${ANALYTICS_DATABASE}.schema_migrations`, [
      { version: migration.version, name: migration.name, applied_at: new Date() },
    ]);
    logger.info({ migration: migration.name }, "analytics migration applied");
    done.push(migration.name);
  }
  return done;
}
