/**
 * Tells a store being unreachable (network refused or reset, the server shutting down or refusing
 * connections) from a fault in Reckon: the first is a 503 a client retries, the second a 500.
 */

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
]);
// Postgres SQLSTATEs: connection exceptions (class 08), operator intervention (57P01-57P05), too many connections.
const POSTGRES_UNAVAILABLE = /^(08...|57P0[1-5]|53300)$/;
const CLIENT_MESSAGES = [
  /Connection terminated/i, // pg: the server went away mid-query
  /timeout exceeded when trying to connect/i, // pg pool
  /Client has encountered a connection error/i, // pg
  /Connection is closed/i, // ioredis
  /Reached the max retries per request limit/i, // ioredis
];
const CLIENT_ERROR_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSNumberOfRetriesExceeded",
  "MaxRetriesPerRequestError",
]);

export function isOutage(error: unknown): boolean {
  for (let e: unknown = error, hops = 0; e instanceof Error && hops < 5; e = e.cause, hops++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code))) return true;
    if (CLIENT_ERROR_NAMES.has(e.name)) return true;
    if (CLIENT_MESSAGES.some((m) => m.test(e.message))) return true;
    if (e instanceof AggregateError && e.errors.some(isOutage)) return true;
  }
  return false;
}
