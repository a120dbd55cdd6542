import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { createTestDatabase } from "../testing/stack.ts";
import { openDatabase } from "./database.ts";
import { registerDatabaseConformance } from "./database-conformance.ts";
import { migrate } from "./migrate.ts";

registerDatabaseConformance("pg on the Postgres server", async () => {
  const test = await createTestDatabase({ migrated: false });
  return { db: test.db, dispose: test.drop };
});

registerDatabaseConformance("PGlite in memory", async () => {
  const db = openDatabase("pglite://");
  return { db, dispose: () => db.close() };
});

registerDatabaseConformance("PGlite in a data directory", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "reckon-pglite-"));
  const db = openDatabase(`pglite://${dir}`);
  return {
    db,
    async dispose() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe("PGlite data directory", () => {
  it("keeps what was committed across a close and reopen", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "reckon-pglite-"));
    try {
      const first = openDatabase(`pglite://${dir}`);
      await migrate(first);
      await first.query(
        "INSERT INTO checkpoints (name, transaction_id, position) VALUES ($1, '7'::xid8, 3)",
        ["kept"],
      );
      await first.close();
      const second = openDatabase(`pglite://${dir}`);
      const { rows } = await second.query("SELECT position FROM checkpoints WHERE name = 'kept'");
      assert.deepEqual(rows, [{ position: 3 }]);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a second process on the same directory, naming the directory and the owner", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "reckon-pglite-"));
    const db = openDatabase(`pglite://${dir}`);
    try {
      await db.query("SELECT 1");
      const other = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "-e",
          `import("./core/postgres/database.ts").then(({ openDatabase }) => openDatabase("pglite://${dir}"))`,
        ],
        { encoding: "utf8" },
      );
      assert.notEqual(other.status, 0);
      assert.match(other.stderr, new RegExp(`data directory ${dir} is in use by process ${process.pid}`));
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("takes over the lock a killed process left behind", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "reckon-pglite-"));
    try {
      const killed = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "-e",
          `import("./core/postgres/database.ts").then(async ({ openDatabase }) => {
             await openDatabase("pglite://${dir}").query("SELECT 1");
             process.kill(process.pid, "SIGKILL");
           })`,
        ],
        { encoding: "utf8" },
      );
      assert.equal(killed.signal, "SIGKILL");
      const db = openDatabase(`pglite://${dir}`);
      assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
