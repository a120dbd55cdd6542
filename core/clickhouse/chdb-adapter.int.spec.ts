import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after } from "node:test";
import { registerClickHouseStoreConformance } from "./conformance.ts";
import { openClickHouse } from "./open.ts";

const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-chdb-"));
after(() => rmSync(dataDir, { recursive: true, force: true }));

registerClickHouseStoreConformance("chdb (in-process)", () => openClickHouse(`chdb://${dataDir}`));
