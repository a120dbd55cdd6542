import { readFileSync } from "node:fs";

/** The last lines of a process's log file, for an error message that says why it failed. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return `(no log at ${file})`;
  }
}
