/**
 * The little the HTTP endpoint must know about SQL text without parsing it: which output format
 * a statement asks for, and whether it is an INSERT whose data follows in the request body.
 */

const TRAILING_FORMAT = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)(?:\s+SETTINGS\s+[^;]*?)?\s*;?\s*$/i;
const INSERT_AWAITING_DATA = /^\s*INSERT\s+INTO\b[\s\S]*?(?:\bFORMAT\s+[A-Za-z][A-Za-z0-9_]*|\bVALUES)\s*$/i;
const INSERT = /^\s*INSERT\b/i;

/** The format named by a trailing `FORMAT <name>` clause of a non-INSERT statement, if any. */
export function trailingFormat(sql: string): string | undefined {
  if (INSERT.test(sql)) return undefined;
  return TRAILING_FORMAT.exec(sql)?.[1];
}

/** True for `INSERT INTO ... FORMAT <fmt>` or `INSERT INTO ... VALUES` with nothing after: the data comes separately. */
export function isInsertAwaitingData(sql: string): boolean {
  return INSERT_AWAITING_DATA.test(sql);
}

export function isInsert(sql: string): boolean {
  return INSERT.test(sql);
}

const CONTENT_TYPES: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /^(JSON|JSONCompact|JSONStrings|JSONCompactStrings|JSONColumns|JSONColumnsWithMetadata|JSONObjectEachRow)$/i,
    "application/json; charset=UTF-8",
  ],
  [/^(JSON|PrettyJSON).*EachRow/i, "application/x-ndjson; charset=UTF-8"],
  [/^(TSV|TabSeparated)/i, "text/tab-separated-values; charset=UTF-8"],
  [/^CSV/i, "text/csv; charset=UTF-8"],
  [
    /^(Parquet|Arrow|ArrowStream|ORC|Avro|Native|RowBinary.*|MsgPack|Protobuf.*|CapnProto|BSONEachRow|Npy)$/i,
    "application/octet-stream",
  ],
];

/** Content-Type for an output format, close to what a ClickHouse server sends. */
export function contentTypeOf(format: string): string {
  for (const [pattern, type] of CONTENT_TYPES) if (pattern.test(format)) return type;
  return "text/plain; charset=UTF-8";
}

const LINE_PER_ROW =
  /^(JSONEachRow|JSONStringsEachRow|JSONCompactEachRow|JSONCompactStringsEachRow|TSV|TabSeparated|TSVRaw|TabSeparatedRaw|CSV)$/i;

/** Result rows counted from the bytes for one-line-per-row formats; undefined when that cannot be known cheaply. */
export function countResultRows(format: string, bytes: Uint8Array): number | undefined {
  if (!LINE_PER_ROW.test(format)) return undefined;
  let rows = 0;
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) rows++;
  return rows;
}
