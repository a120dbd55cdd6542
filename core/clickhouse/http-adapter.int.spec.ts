import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after } from "node:test";
import { registerClickHouseStoreConformance } from "./conformance.ts";
import { startClickHouseHttpEndpoint, type ClickHouseHttpEndpoint } from "../clickhouse-endpoint/server.ts";
import { openClickHouse } from "./open.ts";

// Against CLICKHOUSE_URL when it names a server; otherwise against Reckon's own endpoint on a free port.
const serverUrl = process.env.CLICKHOUSE_URL?.startsWith("http") ? process.env.CLICKHOUSE_URL : undefined;
let endpoint: ClickHouseHttpEndpoint | undefined;
const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-chdb-http-"));
after(async () => {
  await endpoint?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

registerClickHouseStoreConformance(
  serverUrl ? `http (${serverUrl})` : "http (@clickhouse/client → Reckon endpoint)",
  async () => {
    if (serverUrl) return openClickHouse(serverUrl);
    // The adapter writes (DDL, inserts), so the endpoint stands in for a full server here.
    const auth = { user: "conformance", password: "conformance-password" };
    endpoint = await startClickHouseHttpEndpoint({ dataDir, port: 0, auth, access: "read-write" });
    const url = new URL(endpoint.url);
    url.username = auth.user;
    url.password = auth.password;
    return openClickHouse(url.toString());
  },
);
