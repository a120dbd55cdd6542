/**
 * A place in the event log. The log's order is (transaction id, position), not position alone: positions are
 * handed out when rows are inserted, but transactions commit in another order, and a reader that only takes rows
 * below the oldest running transaction (see ingest/relay) sees them in (transaction id, position) order.
 *
 * Clients see it as an opaque token string `"<transaction id>.<position>"`, returned by every write and accepted
 * as `min_position` by reads that want to see that write.
 */
export interface LogPosition {
  readonly transactionId: bigint;
  readonly position: number;
}

export const LOG_START: LogPosition = { transactionId: 0n, position: 0 };

export function compareLogPositions(a: LogPosition, b: LogPosition): number {
  if (a.transactionId !== b.transactionId) return a.transactionId < b.transactionId ? -1 : 1;
  return a.position - b.position;
}

export const maxLogPosition = (a: LogPosition, b: LogPosition) => (compareLogPositions(a, b) >= 0 ? a : b);
export const minLogPosition = (a: LogPosition, b: LogPosition) => (compareLogPositions(a, b) <= 0 ? a : b);

export function formatPositionToken(p: LogPosition): string {
  return `${p.transactionId}.${p.position}`;
}

const TOKEN = /^(\d{1,20})\.(\d{1,16})$/;

/** Parses a position token; returns undefined when malformed so callers can answer 400 with their field name. */
export function parsePositionToken(token: string): LogPosition | undefined {
  const m = TOKEN.exec(token);
  if (!m) return undefined;
  const position = Number(m[2]);
  if (!Number.isSafeInteger(position)) return undefined;
  return { transactionId: BigInt(m[1]!), position };
}

export const POSITION_TOKEN_RULE =
  'must be a position token "<transaction>.<position>" as returned by a write';
