import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A throwaway Postgres cluster on its own port and data directory (never the shared server). */
export interface PrivatePostgres {
  /** Connection URL of its `postgres` database as the superuser `postgres` (trust auth, loopback only). */
  url(database?: string): string;
  port: number;
  stop(): Promise<void>;
}

/** The newest installed server's bin directory (Debian layout /usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((d) => existsSync(path.join(root, d, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new Error(`no Postgres server found under ${root} (initdb missing)`);
  return path.join(root, majors[0]!, "bin");
}

/** A port nobody listens on right now, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

/**
 * Starts a private cluster with the given server settings (e.g. wal_level=logical). initdb refuses to run as
 * root, so as root the cluster belongs to the `postgres` user and its tools run through runuser.
 */
export async function startPrivatePostgres(settings: Record<string, string>): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const dir = await mkdtemp(path.join(tmpdir(), "reckon-private-pg-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const tool = (name: string, args: string[], timeout: number) =>
    asRoot
      ? run("runuser", ["-u", "postgres", "--", path.join(bin, name), ...args], { timeout })
      : run(path.join(bin, name), args, { timeout });
  const data = path.join(dir, "data");
  const port = await freePort();
  try {
    await tool("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"], 60_000);
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=off",
      ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
    ].join(" ");
    await tool(
      "pg_ctl",
      ["-D", data, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "-o", options, "start"],
      90_000,
    );
  } catch (err) {
    // A cluster that did not come up leaves nothing behind (a half-started server is stopped too).
    await tool("pg_ctl", ["-D", data, "-m", "immediate", "stop"], 30_000).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async stop() {
      await tool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"], 45_000).catch(
        () => undefined,
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
