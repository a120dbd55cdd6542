import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { parseEnvFile, REPO_ROOT } from "../runtime/local-env.ts";
import { ensureLocalSecrets } from "./resolve.ts";
import { describeLocalKeys, layerSources } from "./sources.ts";

/** What `reckon start` writes into .reckon/keys.env, on a real file in a temporary directory. */
const dir = mkdtempSync(path.join(tmpdir(), "reckon-local-secrets-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const keysFile = () => path.join(dir, `keys-${++files}.env`);

const KEY = (scope: string) => `rk_${scope}_[A-Za-z0-9_-]{24}`;
const PASSWORD = "ch_[A-Za-z0-9_-]{32}";
const mode = (file: string) => statSync(file).mode & 0o777;
const CONFIGURED_KEYS = {
  RECKON_WRITE_KEYS: "configured-write-key-01",
  RECKON_READ_KEYS: "configured-read-key-001",
  RECKON_ADMIN_KEYS: "configured-admin-key-01",
};

describe("local keys file", () => {
  it("creates it, mode 0600, with the three API keys and the endpoint's password", () => {
    const file = keysFile();
    ensureLocalSecrets({}, file);
    assert.match(
      readFileSync(file, "utf8"),
      new RegExp(
        `^RECKON_WRITE_KEYS=${KEY("write")}\nRECKON_READ_KEYS=${KEY("read")}\nRECKON_ADMIN_KEYS=${KEY("admin")}\n` +
          `CLICKHOUSE_HTTP_PASSWORD=${PASSWORD}\n$`,
      ),
    );
    assert.equal(mode(file), 0o600);
  });

  it("adds the API keys to a file holding only the endpoint's password, keeping it, once", () => {
    const file = keysFile();
    writeFileSync(file, "CLICKHOUSE_HTTP_PASSWORD=ch_written_by_an_earlier_start\n", { mode: 0o600 });
    ensureLocalSecrets({}, file);
    const written = readFileSync(file, "utf8");
    assert.match(
      written,
      new RegExp(
        `^CLICKHOUSE_HTTP_PASSWORD=ch_written_by_an_earlier_start\nRECKON_WRITE_KEYS=${KEY("write")}\n` +
          `RECKON_READ_KEYS=${KEY("read")}\nRECKON_ADMIN_KEYS=${KEY("admin")}\n$`,
      ),
    );
    assert.equal(mode(file), 0o600);
    ensureLocalSecrets({}, file);
    assert.equal(readFileSync(file, "utf8"), written, "a second start writes nothing");

    // The configuration then takes the generated keys, and the banner says where they are.
    const stored = parseEnvFile(written);
    const layered = layerSources({}, { stack: {}, keys: stored }, path.join(dir, "data"));
    assert.equal(layered.values.RECKON_WRITE_KEYS, stored.RECKON_WRITE_KEYS);
    assert.equal(layered.fromFile.RECKON_ADMIN_KEYS, ".reckon/keys.env");
    assert.equal(
      describeLocalKeys(layered, file),
      `  API keys          generated locally: RECKON_WRITE_KEYS, RECKON_READ_KEYS, RECKON_ADMIN_KEYS in ${file}\n` +
        "                    → set RECKON_WRITE_KEYS, RECKON_READ_KEYS, RECKON_ADMIN_KEYS to use your own",
    );
  });

  it("adds only the keys a file lacks, on their own lines after a last line without a newline", () => {
    const file = keysFile();
    writeFileSync(file, "RECKON_WRITE_KEYS=rk_write_edited_by_hand_00\nCLICKHOUSE_HTTP_PASSWORD=ch_kept", {
      mode: 0o600,
    });
    ensureLocalSecrets({}, file);
    assert.match(
      readFileSync(file, "utf8"),
      new RegExp(
        "^RECKON_WRITE_KEYS=rk_write_edited_by_hand_00\nCLICKHOUSE_HTTP_PASSWORD=ch_kept\n" +
          `RECKON_READ_KEYS=${KEY("read")}\nRECKON_ADMIN_KEYS=${KEY("admin")}\n$`,
      ),
    );
  });

  it("writes nothing for values the environment sets, and the environment's win", () => {
    const file = keysFile();
    ensureLocalSecrets({ ...CONFIGURED_KEYS, CLICKHOUSE_HTTP_PASSWORD: "configured-password" }, file);
    assert.equal(existsSync(file), false);

    // Configured keys, no password: only the in-process endpoint's password is generated.
    ensureLocalSecrets(CONFIGURED_KEYS, file);
    assert.match(readFileSync(file, "utf8"), new RegExp(`^CLICKHOUSE_HTTP_PASSWORD=${PASSWORD}\n$`));
    const layered = layerSources(
      CONFIGURED_KEYS,
      {
        stack: {},
        keys: { ...parseEnvFile(readFileSync(file, "utf8")), RECKON_WRITE_KEYS: "rk_write_in_file" },
      },
      path.join(dir, "data"),
    );
    assert.equal(layered.values.RECKON_WRITE_KEYS, "configured-write-key-01");
    assert.equal(describeLocalKeys(layered, file), undefined);
  });

  it("generates each value once when several processes start together, one at a time under the lock", async () => {
    const file = keysFile();
    const before = "CLICKHOUSE_HTTP_PASSWORD=ch_written_by_an_earlier_start\n";
    writeFileSync(file, before, { mode: 0o600 });
    // The test holds the lock first: the starts wait for it, then each reads what the previous one appended.
    writeFileSync(`${file}.lock`, "");
    const script = `
      import { ensureLocalSecrets } from ${JSON.stringify(path.join(REPO_ROOT, "core/config/resolve.ts"))};
      ensureLocalSecrets({}, ${JSON.stringify(file)});
    `;
    const starts = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LOG_LEVEL: "error" },
        stdio: ["ignore", "ignore", "inherit"],
      });
      return new Promise<number | null>((resolve) => child.once("exit", resolve));
    });
    await new Promise((r) => setTimeout(r, 4_000)); // every process has loaded and reached the lock
    assert.equal(
      readFileSync(file, "utf8"),
      before,
      "nothing is written while another process holds the lock",
    );
    rmSync(`${file}.lock`);
    assert.deepEqual(await Promise.all(starts), [0, 0, 0, 0]);
    const names = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split("=")[0]);
    assert.deepEqual(names, [
      "CLICKHOUSE_HTTP_PASSWORD",
      "RECKON_WRITE_KEYS",
      "RECKON_READ_KEYS",
      "RECKON_ADMIN_KEYS",
    ]);
    assert.equal(existsSync(`${file}.lock`), false, "the lock is released");
  });
});
