import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { openDatabase, type Database } from "./database.ts";
import { startPrivatePostgres, waitUntil, type PrivatePostgres } from "../testing/faults.ts";

/**
 * A LISTEN survives a Postgres restart: the relay (and serving's model holder) subscribe through
 * `Database.listen`, and without a reconnect they silently fell back to polling after the first restart.
 * Runs against a private Postgres cluster (its own port and data directory), never the shared one.
 */
let server: PrivatePostgres;
let db: Database;

before(async () => {
  server = await startPrivatePostgres();
  db = openDatabase(server.url, { maxConnections: 2 });
});

after(async () => {
  await db?.close().catch(() => undefined);
  await server?.destroy();
});

async function notify(url: string, channel: string, payload: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("SELECT pg_notify($1, $2)", [channel, payload]);
  } finally {
    await client.end();
  }
}

test("a LISTEN gets notifications again after Postgres restarts (fast shutdown and crash)", async () => {
  const received: string[] = [];
  const unlisten = await db.listen("reckon_test_channel", (payload) => received.push(payload));
  try {
    await notify(server.url, "reckon_test_channel", "before");
    await waitUntil("the first notification", async () => received.includes("before"), 10_000);

    for (const mode of ["fast", "immediate"] as const) {
      await server.stop(mode);
      await server.start();
      const payload = `after-${mode}`;
      // Notify until one arrives: the listener reconnects with backoff, and a notification sent before it is
      // back is not delivered (it then calls back with "" so its user looks for what it missed).
      await waitUntil(
        `a notification after a ${mode} restart`,
        async () => {
          await notify(server.url, "reckon_test_channel", payload);
          await new Promise((r) => setTimeout(r, 200));
          return received.includes(payload);
        },
        30_000,
      );
      assert.ok(received.includes(""), "the listener said it had been away, so its user can catch up");
      received.length = 0;
    }
  } finally {
    await unlisten();
  }
});
