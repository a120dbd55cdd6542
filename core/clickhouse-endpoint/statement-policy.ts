import { lexSql, SqlLexError, type SqlToken } from "./sql-lexer.ts";

/**
 * What an analyst may run through the ClickHouse-compatible endpoint: one reading statement (SELECT,
 * WITH … SELECT, SHOW, DESCRIBE, EXISTS, EXPLAIN), no function that reaches files, URLs or other servers,
 * only harmless table functions, no INTO OUTFILE and no SETTINGS clause. The engine also runs analyst
 * connections with `readonly=1`; this check comes first because the engine alone still lets a read-only
 * query call the scalar `file()`, write INTO OUTFILE and run several statements.
 */

export type PolicyVerdict = { allowed: true } | { allowed: false; reason: string };

const READING_STATEMENTS = new Set(["select", "with", "show", "describe", "desc", "exists", "explain"]);

// Table functions that compute rows from their arguments or read tables the analyst can already read.
const SAFE_TABLE_FUNCTIONS = new Set([
  "numbers",
  "numbers_mt",
  "zeros",
  "zeros_mt",
  "values",
  "generaterandom",
  "generate_series",
  "generateseries",
  "null",
  "view",
  "merge",
  "format",
]);

// Functions (table or scalar) that read or write files or open connections, wherever they appear.
const OUTSIDE_REACHING_FUNCTIONS = new Set([
  "file",
  "filecluster",
  "url",
  "urlcluster",
  "remote",
  "remotesecure",
  "cluster",
  "clusterallreplicas",
  "mysql",
  "postgresql",
  "postgres",
  "sqlite",
  "mongodb",
  "redis",
  "jdbc",
  "odbc",
  "executable",
  "input",
  "hive",
  "gcs",
  "oss",
  "cosn",
  "ytsaurus",
  "arrowflight",
  "catboostevaluate",
  "hascolumnintable",
  "dictionary",
]);
const OUTSIDE_REACHING_PREFIXES = [
  "s3",
  "azure",
  "hdfs",
  "iceberg",
  "deltalake",
  "hudi",
  "paimon",
  "executable",
];

// Keywords that only serve writing results somewhere or changing settings.
const FORBIDDEN_KEYWORDS = new Set(["into", "outfile", "infile", "settings"]);

// Keywords after which, at the same bracket depth, the FROM list has ended.
const CLAUSE_KEYWORDS = new Set([
  "select",
  "where",
  "prewhere",
  "group",
  "order",
  "having",
  "limit",
  "offset",
  "union",
  "except",
  "intersect",
  "window",
  "qualify",
  "on",
  "using",
  "format",
  "array",
]);

// Keywords directly followed by a table (or a table function).
const TABLE_POSITION_KEYWORDS = new Set(["from", "join", "table", "describe", "desc"]);

const EXPLAIN_KINDS = new Set(["ast", "syntax", "query", "tree", "plan", "pipeline", "estimate"]);

export function checkAnalystStatement(sql: string): PolicyVerdict {
  let tokens: SqlToken[];
  try {
    tokens = lexSql(sql);
  } catch (error) {
    if (error instanceof SqlLexError)
      return deny(`the statement could not be read safely (${error.message})`);
    throw error;
  }
  return (
    checkSingleStatement(tokens) ??
    checkStatementKind(tokens) ??
    checkKeywords(tokens) ??
    checkFunctions(tokens) ?? { allowed: true }
  );
}

function deny(reason: string): PolicyVerdict {
  return { allowed: false, reason };
}

const lower = (token: SqlToken | undefined) =>
  token?.kind === "word" ? token.text.toLowerCase() : undefined;
const isPunct = (token: SqlToken | undefined, text: string) => token?.kind === "punct" && token.text === text;

function checkSingleStatement(tokens: SqlToken[]): PolicyVerdict | undefined {
  const semicolon = tokens.findIndex((t) => isPunct(t, ";"));
  if (semicolon === -1) return undefined;
  if (tokens.slice(semicolon + 1).every((t) => isPunct(t, ";"))) {
    tokens.splice(semicolon);
    return undefined;
  }
  return deny("only one statement per request is allowed");
}

function checkStatementKind(tokens: SqlToken[]): PolicyVerdict | undefined {
  let i = 0;
  while (isPunct(tokens[i], "(")) i++;
  const first = lower(tokens[i]);
  if (first === undefined) return deny("the request holds no statement");
  if (!READING_STATEMENTS.has(first)) {
    return deny(
      `${first.toUpperCase()} statements are not allowed: only SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN`,
    );
  }
  if (first !== "explain") return undefined;
  // EXPLAIN [kind] [name = value, …] <SELECT-like statement>
  i++;
  while (EXPLAIN_KINDS.has(lower(tokens[i]) ?? "")) i++;
  while (tokens[i]?.kind === "word" && isPunct(tokens[i + 1], "=")) {
    i += 3;
    if (isPunct(tokens[i], ",")) i++;
  }
  while (isPunct(tokens[i], "(")) i++;
  const explained = lower(tokens[i]);
  if (explained === "select" || explained === "with") return undefined;
  return deny("EXPLAIN is allowed only for SELECT statements");
}

function checkKeywords(tokens: SqlToken[]): PolicyVerdict | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const word = lower(tokens[i]);
    // `system.settings` names a table, not the SETTINGS clause.
    if (word !== undefined && FORBIDDEN_KEYWORDS.has(word) && !isPunct(tokens[i - 1], ".")) {
      return deny(
        word === "settings"
          ? "a SETTINGS clause is not allowed: settings are fixed by the server"
          : `${word.toUpperCase()} is not allowed: results are returned, never written`,
      );
    }
  }
  return undefined;
}

function checkFunctions(tokens: SqlToken[]): PolicyVerdict | undefined {
  // The clause each bracket depth is in, so `FROM a, f(…)` is seen as a table function and `SELECT a, f(…)` is not.
  const clauseAtDepth: string[] = ["select"];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const depth = clauseAtDepth.length - 1;
    if (isPunct(token, "(")) {
      clauseAtDepth.push("select");
      continue;
    }
    if (isPunct(token, ")")) {
      if (clauseAtDepth.length > 1) clauseAtDepth.pop();
      continue;
    }
    const word = lower(token);
    if (word === "from" || (word === "join" && lower(tokens[i - 1]) !== "array"))
      clauseAtDepth[depth] = "from";
    else if (word !== undefined && CLAUSE_KEYWORDS.has(word)) clauseAtDepth[depth] = word;
    if (!isPunct(tokens[i + 1], "(")) continue;
    if (token.kind === "quoted-name") return deny("a quoted name may not be called as a function");
    if (word === undefined) continue;
    if (isOutsideReaching(word)) {
      return deny(`function ${token.text}() is not allowed: it reaches files, URLs or other servers`);
    }
    const previous = tokens[i - 1];
    const inTablePosition =
      TABLE_POSITION_KEYWORDS.has(lower(previous) ?? "") ||
      (isPunct(previous, ",") && clauseAtDepth[depth] === "from");
    if (inTablePosition && !SAFE_TABLE_FUNCTIONS.has(word)) {
      return deny(
        `table function ${token.text}() is not allowed: only ${[...SAFE_TABLE_FUNCTIONS].join(", ")}`,
      );
    }
  }
  return undefined;
}

function isOutsideReaching(name: string): boolean {
  return OUTSIDE_REACHING_FUNCTIONS.has(name) || OUTSIDE_REACHING_PREFIXES.some((p) => name.startsWith(p));
}

// Settings that only shape how a result is printed or cap it; every other setting is the server's to choose.
const ANALYST_SETTINGS = new Set([
  "output_format_json_quote_64bit_integers",
  "output_format_json_quote_64bit_floats",
  "output_format_json_quote_decimals",
  "output_format_json_quote_denormals",
  "output_format_json_named_tuples_as_objects",
  "output_format_decimal_trailing_zeros",
  "date_time_output_format",
  "max_result_rows",
  "max_result_bytes",
  "result_overflow_mode",
]);

/**
 * The URL settings an analyst's request may carry. `readonly=1` is accepted (it is what the server runs
 * with anyway); any other value of it, and any setting beyond formatting and result caps, is refused.
 */
export function checkAnalystSettings(settings: Readonly<Record<string, string>>): PolicyVerdict {
  for (const [name, value] of Object.entries(settings)) {
    if (name === "readonly" && value === "1") continue;
    if (!ANALYST_SETTINGS.has(name)) return deny(`Cannot modify '${name}' setting in readonly mode`);
  }
  return { allowed: true };
}
