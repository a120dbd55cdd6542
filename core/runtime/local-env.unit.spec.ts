import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { layerSources, localFilesWanted } from "../config/sources.ts";
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

describe("which local files the configuration reads", () => {
  const keys = {
    RECKON_WRITE_KEYS: "configured-write-key-01",
    RECKON_READ_KEYS: "configured-read-key-001",
    RECKON_ADMIN_KEYS: "configured-admin-key-01",
  };

  it("none when the environment configures the keys and the endpoint's password (embedded stores)", () => {
    assert.deepEqual(localFilesWanted({ ...keys, CLICKHOUSE_HTTP_PASSWORD: "configured-password" }), {
      stack: false,
      keys: false,
    });
  });

  it("the keys file while no key is configured, or the in-process endpoint has no password", () => {
    assert.deepEqual(localFilesWanted({ CLICKHOUSE_HTTP_PASSWORD: "configured-password" }), {
      stack: false,
      keys: true,
    });
    assert.deepEqual(localFilesWanted(keys), { stack: false, keys: true });
    assert.deepEqual(localFilesWanted({ ...keys, CLICKHOUSE_URL: "http://clickhouse:8123" }), {
      stack: false,
      keys: false,
    });
  });

  it("the stack file only with RECKON_LOCAL_STACK and no store configured", () => {
    const configured = { ...keys, CLICKHOUSE_HTTP_PASSWORD: "configured-password" };
    assert.deepEqual(localFilesWanted({ ...configured, RECKON_LOCAL_STACK: "1" }), {
      stack: true,
      keys: false,
    });
    assert.deepEqual(
      localFilesWanted({ ...configured, RECKON_LOCAL_STACK: "1", DATABASE_URL: "postgres://db/reckon" }),
      { stack: false, keys: false },
    );
  });
});
