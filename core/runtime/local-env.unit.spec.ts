import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { layerSources } from "../config/sources.ts";
import { ensureLocalClickHousePassword } from "./local-env.ts";

describe("local ClickHouse endpoint credentials", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-local-env-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("generates a password once into the keys file, beside the API keys, and reuses it", () => {
    const keysFile = path.join(dir, "keys.env");
    writeFileSync(keysFile, "RECKON_WRITE_KEYS=rk_write_0123456789abcdef\n", { mode: 0o600 });
    ensureLocalClickHousePassword(keysFile);
    const first = readFileSync(keysFile, "utf8");
    ensureLocalClickHousePassword(keysFile);
    assert.equal(readFileSync(keysFile, "utf8"), first);
    assert.match(
      first,
      /^RECKON_WRITE_KEYS=rk_write_0123456789abcdef\nCLICKHOUSE_HTTP_PASSWORD=ch_[A-Za-z0-9_-]{32}\n$/,
    );
    assert.equal(statSync(keysFile).mode & 0o777, 0o600);
  });

  const files = { stack: {}, keys: { CLICKHOUSE_HTTP_PASSWORD: "ch_generated_password_0000" } };

  it("uses the generated password with the in-process engine, also beside configured API keys", () => {
    const layered = layerSources({ RECKON_READ_KEYS: "configured-read-key-0001" }, files, dir);
    assert.equal(layered.values.CLICKHOUSE_HTTP_PASSWORD, "ch_generated_password_0000");
    assert.equal(layered.fromFile.CLICKHOUSE_HTTP_PASSWORD, ".reckon/keys.env");
  });

  it("leaves a configured password alone", () => {
    const layered = layerSources({ CLICKHOUSE_HTTP_PASSWORD: "configured-password-1" }, files, dir);
    assert.equal(layered.values.CLICKHOUSE_HTTP_PASSWORD, "configured-password-1");
    assert.equal(layered.fromFile.CLICKHOUSE_HTTP_PASSWORD, undefined);
  });

  it("takes no generated password for a ClickHouse server, which serves no endpoint of Reckon's", () => {
    const layered = layerSources(
      { CLICKHOUSE_URL: "http://clickhouse:8123", RECKON_READ_KEYS: "k".repeat(16) },
      files,
      dir,
    );
    assert.equal(layered.values.CLICKHOUSE_HTTP_PASSWORD, undefined);
  });
});
