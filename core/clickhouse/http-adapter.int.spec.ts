import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after } from "node:test";
import { registerClickHouseStoreConformance } from "./conformance.ts";
import { startClickHouseHttpEndpoint, type ClickHouseHttpEndpoint } from "./http-endpoint.ts";
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
    endpoint = await startClickHouseHttpEndpoint({ dataDir, port: 0 });
    return openClickHouse(endpoint.url);
  },
);
