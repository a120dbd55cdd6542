import type { CatalogItem } from "../../core/contracts/item.ts";

/**
 * The pure text side of search: what a catalog item contributes to the index, and how a query string becomes a
 * Postgres full-text query with prefix matching and typo tolerance. No I/O here.
 */

/** At most this many words of a query are used (the rest are ignored, so a pasted paragraph stays cheap). */
export const MAX_QUERY_TOKENS = 8;

/** Lower-cased words of letters and digits, in order, deduplicated, at most MAX_QUERY_TOKENS. */
export function queryTokens(q: string): string[] {
  const words = q
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
  return [...new Set(words)].slice(0, MAX_QUERY_TOKENS);
}

/** The searchable text of an item: its title (weight A) and the text of its string attributes (weight B). */
export function documentText(item: Pick<CatalogItem, "title" | "attributes">): {
  title: string;
  body: string;
} {
  const body = Object.values(item.attributes)
    .filter((v): v is string => typeof v === "string")
    .join(" ");
  return { title: item.title ?? "", body };
}

/** "key=value" for every scalar attribute: what `attr.KEY=VALUE` filters on and what facets count. */
export function facetValues(attributes: CatalogItem["attributes"]): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null) continue;
    values.push(facetValue(key, String(value)));
  }
  return values.sort();
}

export const facetValue = (key: string, value: string) => `${key}=${value}`;

/**
 * How many edits a query word may be away from an indexed word and still match it: none below 5 letters (too
 * many short words are one edit apart: lamp, clamp, damp), one from 5, two from 9 (Meilisearch's defaults).
 */
export const MIN_LETTERS_FOR_ONE_TYPO = 5;
export const MIN_LETTERS_FOR_TWO_TYPOS = 9;

export function allowedEdits(word: string): number {
  const n = [...word].length;
  if (n < MIN_LETTERS_FOR_ONE_TYPO) return 0;
  return n < MIN_LETTERS_FOR_TWO_TYPOS ? 1 : 2;
}

/**
 * Optimal string alignment distance (Levenshtein plus transposition of neighbours, each substring edited once):
 * a transposed pair of letters, the commonest typo, counts as one edit.
 */
export function editDistance(a: string, b: string): number {
  const s = [...a];
  const t = [...b];
  const rows = s.length + 1;
  const cols = t.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/** The indexed words within `allowedEdits` of the query word (the word itself excluded). */
export function typoMatches(word: string, candidates: readonly string[]): string[] {
  const limit = allowedEdits(word);
  if (limit === 0) return [];
  return candidates.filter((c) => c !== word && editDistance(word, c) <= limit).sort();
}

/** A word as a tsquery operand: quoted, so nothing in it is read as an operator. */
const operand = (word: string) => `'${word.replace(/'/g, "''").replace(/\\/g, "\\\\")}'`;

export interface TextQuery {
  /**
   * Every word must match: itself as a prefix (`lam` finds `lamp`), or an indexed word one or two edits away.
   * `to_tsquery('simple', …)` text.
   */
  match: string;
  /** Any word exactly as typed: a bonus in the score, so exact words rank above prefixes and corrections. */
  exact: string;
}

/** The tsquery texts for the query words and, per word, the indexed words its typos may stand for. */
export function buildTextQuery(
  tokens: readonly string[],
  typos: ReadonlyMap<string, readonly string[]>,
): TextQuery {
  const groups = tokens.map((token) => {
    const alternatives = [`${operand(token)}:*`, ...(typos.get(token) ?? []).map(operand)];
    return alternatives.length === 1 ? alternatives[0]! : `(${alternatives.join(" | ")})`;
  });
  return { match: groups.join(" & "), exact: tokens.map(operand).join(" | ") };
}
