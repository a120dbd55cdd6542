import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";

const LOCK_FILE = "reckon.lock";

/**
 * One process per embedded data directory. The lock is a file created exclusively and holding the owner's
 * pid; a lock left by a process that no longer runs (SIGKILL leaves it behind) is taken over, so a crash
 * never needs an operator to delete it.
 */
export class DataDirectoryLock {
  private constructor(private readonly file: string) {}

  static acquire(dir: string): DataDirectoryLock {
    const file = path.join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, "wx");
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new DataDirectoryLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        const owner = readOwner(file);
        if (owner !== undefined && owner !== process.pid && isRunning(owner))
          throw new Error(
            `data directory ${dir} is in use by process ${owner}: one Reckon process per data directory ` +
              `(stop that process, or give this one another directory)`,
            { cause: err },
          );
        if (owner === process.pid)
          throw new Error(
            `data directory ${dir} is already open in this process: open it once and share it`,
            {
              cause: err,
            },
          );
        unlinkSync(file); // stale: its owner is gone
      }
    }
    throw new Error(`data directory ${dir}: could not take ${LOCK_FILE}`);
  }

  release(): void {
    try {
      if (readOwner(this.file) === process.pid) unlinkSync(this.file);
    } catch {
      // already gone
    }
  }
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
