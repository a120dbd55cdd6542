/**
 * Read-your-writes across roles: waits, bounded, until the read models a role reads have passed a write's
 * position token. The projectors implement it; a reading role is handed one by the composition root (bin/).
 */
export interface ReadModelPositions {
  /** Throws for a malformed token; `reached` is false when the wait timed out. */
  waitForPosition(token: string, timeoutMs: number): Promise<{ reached: boolean; waitedMs: number }>;
  close(): Promise<void>;
}
