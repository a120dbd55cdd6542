import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { applyLocalClickHouseCredentials } from "./local-env.ts";

describe("local ClickHouse endpoint credentials", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-local-env-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("generates a password once into the keys file, beside the API keys, and reuses it", () => {
    const keysFile = path.join(dir, "keys.env");
    writeFileSync(keysFile, "RECKON_WRITE_KEYS=rk_write_0123456789abcdef\n", { mode: 0o600 });
    const first: NodeJS.ProcessEnv = {};
    applyLocalClickHouseCredentials(first, keysFile);
    assert.match(first.CLICKHOUSE_HTTP_PASSWORD ?? "", /^ch_[A-Za-z0-9_-]{32}$/);
    const second: NodeJS.ProcessEnv = {};
    applyLocalClickHouseCredentials(second, keysFile);
    assert.equal(second.CLICKHOUSE_HTTP_PASSWORD, first.CLICKHOUSE_HTTP_PASSWORD);
    const text = readFileSync(keysFile, "utf8");
    assert.equal(
      text.startsWith("RECKON_WRITE_KEYS=rk_write_0123456789abcdef\nCLICKHOUSE_HTTP_PASSWORD=ch_"),
      true,
    );
    assert.equal(statSync(keysFile).mode & 0o777, 0o600);
  });

  it("leaves a configured password alone and writes nothing", () => {
    const keysFile = path.join(dir, "absent.env");
    const env: NodeJS.ProcessEnv = { CLICKHOUSE_HTTP_PASSWORD: "configured-password-1" };
    applyLocalClickHouseCredentials(env, keysFile);
    assert.equal(env.CLICKHOUSE_HTTP_PASSWORD, "configured-password-1");
    assert.throws(() => statSync(keysFile), /ENOENT/);
  });
});
