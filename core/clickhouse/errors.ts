import { ClickHouseStoreError } from "./port.ts";

// "Code: 60. DB::Exception: <message>. (UNKNOWN_TABLE)" optionally followed by "(version ...)".
// The name needs three capitals in a row so "(2)" or "(official build)" is never taken for it.
const ERROR_TEXT = /Code: (\d+)\.\s*(?:DB::Exception: )?([\s\S]*?)\s*\(((?=[A-Z0-9_]*[A-Z]{3})[A-Z0-9_]+)\)/;

/** Turns a ClickHouse error text (server body or chdb message) into a typed error. */
export function clickHouseErrorFromText(text: string, cause?: unknown): ClickHouseStoreError {
  const match = ERROR_TEXT.exec(text);
  if (match) {
    const [, code, message, type] = match;
    return new ClickHouseStoreError(stripTrailingDot(message ?? ""), Number(code), type ?? "UNKNOWN", {
      cause,
    });
  }
  return new ClickHouseStoreError(text, 1001, "STD_EXCEPTION", { cause });
}

/** Any thrown value → ClickHouseStoreError, keeping one already typed. */
export function toClickHouseStoreError(error: unknown): ClickHouseStoreError {
  if (error instanceof ClickHouseStoreError) return error;
  const text = error instanceof Error ? error.message : String(error);
  return clickHouseErrorFromText(text, error);
}

/** The body a ClickHouse server sends for a failed query; @clickhouse/client parses code and name from it. */
export function clickHouseErrorBody(error: ClickHouseStoreError, version: string): string {
  return `Code: ${error.code}. DB::Exception: ${error.message}. (${error.type}) (version ${version})\n`;
}

function stripTrailingDot(message: string): string {
  return message.endsWith(".") ? message.slice(0, -1) : message;
}

const BAD_REQUEST = new Set([
  "BAD_ARGUMENTS",
  "CANNOT_COMPILE_REGEXP",
  "CANNOT_PARSE_TEXT",
  "CANNOT_PARSE_ESCAPE_SEQUENCE",
  "CANNOT_PARSE_QUOTED_STRING",
  "CANNOT_PARSE_DATE",
  "CANNOT_PARSE_DATETIME",
  "CANNOT_PARSE_NUMBER",
  "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
  "CANNOT_PARSE_IPV4",
  "CANNOT_PARSE_IPV6",
  "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
  "CANNOT_PARSE_UUID",
  "DUPLICATE_COLUMN",
  "ILLEGAL_COLUMN",
  "UNKNOWN_ELEMENT_IN_AST",
  "UNKNOWN_TYPE_OF_AST_NODE",
  "THERE_IS_NO_COLUMN",
  "TOO_DEEP_AST",
  "TOO_BIG_AST",
  "UNEXPECTED_AST_STRUCTURE",
  "SYNTAX_ERROR",
  "INCORRECT_DATA",
  "TYPE_MISMATCH",
  "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
]);
const NOT_FOUND = new Set([
  "UNKNOWN_TABLE",
  "UNKNOWN_FUNCTION",
  "UNKNOWN_IDENTIFIER",
  "UNKNOWN_TYPE",
  "UNKNOWN_STORAGE",
  "UNKNOWN_DATABASE",
  "UNKNOWN_SETTING",
  "UNKNOWN_DIRECTION_OF_SORTING",
  "UNKNOWN_AGGREGATE_FUNCTION",
  "UNKNOWN_FORMAT",
  "UNKNOWN_DATABASE_ENGINE",
  "UNKNOWN_TYPE_OF_QUERY",
  "UNKNOWN_ROLE",
]);
const OTHER: Readonly<Record<string, number>> = {
  REQUIRED_PASSWORD: 401,
  UNKNOWN_USER: 403,
  WRONG_PASSWORD: 403,
  AUTHENTICATION_FAILED: 403,
  SET_NON_GRANTED_ROLE: 403,
  ACCESS_DENIED: 403,
  QUERY_IS_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
  SOCKET_TIMEOUT: 503,
  CANNOT_OPEN_FILE: 503,
  CANNOT_SCHEDULE_TASK: 503,
  HTTP_LENGTH_REQUIRED: 411,
  TIMEOUT_EXCEEDED: 408,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

/** The HTTP status a ClickHouse server answers for an error, by error name (its exceptionCodeToHTTPStatus). */
export function httpStatusForError(type: string): number {
  if (BAD_REQUEST.has(type)) return 400;
  if (NOT_FOUND.has(type)) return 404;
  return OTHER[type] ?? 500;
}
