/**
 * Splits ClickHouse SQL text into the tokens a statement policy needs (words, quoted names, literals,
 * punctuation), dropping comments. Wherever ClickHouse's own lexer could read the text differently
 * (nested block comments, heredocs, `$`, a `#` that is not a comment), the text is refused instead of
 * guessed at: a policy that misreads where a string or comment ends could be walked around.
 */

export type SqlToken =
  | { kind: "word"; text: string }
  | { kind: "quoted-name"; text: string }
  | { kind: "string"; text: string }
  | { kind: "number"; text: string }
  | { kind: "punct"; text: string };

export class SqlLexError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = "SqlLexError";
  }
}

// ClickHouse's bare words are ASCII; outside quotes it skips Unicode whitespace and refuses other
// non-ASCII characters. A character read as part of a word here but as a separator there could hide a
// name (`\u200Bfile(`), so non-ASCII outside quotes is whitespace when JavaScript agrees, else refused.
const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_]/;
const NUMBER_PART = /[0-9A-Za-z_.]/;
const PUNCT = new Set([..."()[]{},;.:+-*/%=<>!|?^@~&"]);

export function lexSql(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "-" && next === "-") {
      i = endOfLine(sql, i);
    } else if (c === "#") {
      // ClickHouse reads `# ` and `#!` as comments and anything else starting with # as an error.
      if (next !== " " && next !== "!") throw new SqlLexError("unexpected '#'", i);
      i = endOfLine(sql, i);
    } else if (c === "/" && next === "*") {
      i = endOfBlockComment(sql, i);
    } else if (c === "'" || c === '"' || c === "`") {
      const end = endOfQuoted(sql, i, c);
      const text = unquote(sql.slice(i + 1, end - 1), c);
      tokens.push(c === "'" ? { kind: "string", text } : { kind: "quoted-name", text });
      i = end;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && (NUMBER_PART.test(sql[j]!) || isExponentSign(sql, j))) j++;
      tokens.push({ kind: "number", text: sql.slice(i, j) });
      i = j;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < sql.length && WORD_PART.test(sql[j]!)) j++;
      if (sql[j] === "$") throw new SqlLexError("unexpected '$'", j);
      tokens.push({ kind: "word", text: sql.slice(i, j) });
      i = j;
    } else if (PUNCT.has(c)) {
      tokens.push({ kind: "punct", text: c });
      i++;
    } else {
      throw new SqlLexError(`unexpected character ${JSON.stringify(c)}`, i);
    }
  }
  return tokens;
}

/** The sign of an exponent (`1e-5`): only between an exponent letter and a digit, so `1e-file(` is not one token. */
function isExponentSign(sql: string, at: number): boolean {
  return /[eEpP]/.test(sql[at - 1]!) && /[+-]/.test(sql[at]!) && /[0-9]/.test(sql[at + 1] ?? "");
}

function endOfLine(sql: string, from: number): number {
  const newline = sql.indexOf("\n", from);
  return newline === -1 ? sql.length : newline + 1;
}

function endOfBlockComment(sql: string, from: number): number {
  const close = sql.indexOf("*/", from + 2);
  if (close === -1) throw new SqlLexError("unterminated comment", from);
  // ClickHouse nests block comments; refusing a nested one avoids depending on that detail.
  if (sql.slice(from + 2, close).includes("/*")) throw new SqlLexError("nested comment", from);
  return close + 2;
}

/** Index just past the closing quote; a backslash escapes the next character, a doubled quote is one quote. */
function endOfQuoted(sql: string, from: number, quote: string): number {
  let i = from + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "\\") i += 2;
    else if (c === quote && sql[i + 1] === quote) i += 2;
    else if (c === quote) return i + 1;
    else i++;
  }
  throw new SqlLexError(`unterminated ${quote}-quoted text`, from);
}

function unquote(body: string, quote: string): string {
  return body
    .replace(/\\(.)/gs, "$1")
    .split(quote + quote)
    .join(quote);
}
