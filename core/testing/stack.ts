import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { openDatabase, type Database } from "../postgres/database.ts";
import { migrate } from "../postgres/migrate.ts";
import { parseEnvFile, REPO_ROOT } from "../runtime/local-env.ts";

/**
 * Test access to the real local stack. `npm test` sources .reckon/stack.env; a single spec run by hand after
 * `npm run stack:up` reads the same file. Each test file gets its own database and topics, so files never see
 * each other's data.
 */
export function stackEnv(): { DATABASE_URL: string; KAFKA_BROKERS: string[]; REDIS_URL: string } {
  const file = path.join(REPO_ROOT, ".reckon/stack.env");
  const fromFile = existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
  const get = (k: string) => {
    const v = process.env[k] ?? fromFile[k];
    if (!v) throw new Error(`${k} is not set: run "npm run stack:up" (or "npm test", which does it)`);
    return v;
  };
  return {
    DATABASE_URL: get("DATABASE_URL"),
    KAFKA_BROKERS: get("KAFKA_BROKERS").split(","),
    REDIS_URL: get("REDIS_URL"),
  };
}

/** The stack's Redis Cluster seed nodes (`REDIS_CLUSTER_NODES`), for specs that run on a cluster too. */
export function stackRedisClusterNodes(): string {
  const file = path.join(REPO_ROOT, ".reckon/stack.env");
  const fromFile = existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {};
  const nodes = process.env.REDIS_CLUSTER_NODES ?? fromFile.REDIS_CLUSTER_NODES;
  if (!nodes)
    throw new Error('REDIS_CLUSTER_NODES is not set: run "npm run stack:up" (it starts the cluster)');
  return nodes;
}

export const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;

export interface TestDatabase {
  url: string;
  db: Database;
  drop(): Promise<void>;
}

/** A fresh database on the stack's Postgres server (migrated unless asked not to), dropped by `drop()`. */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const base = new URL(stackEnv().DATABASE_URL);
  const name = uniqueName("reckon_test");
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = openDatabase(url.toString(), { maxConnections: 10 });
  if (options.migrated !== false) await migrate(db);
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.close();
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
