import type { FieldError } from "../../core/contracts/validation.ts";
import { checkId, ID_PATTERN, MAX_ID_CHARS } from "../../core/contracts/id.ts";
import { parsePositionToken, POSITION_TOKEN_RULE } from "../../core/contracts/position.ts";
import { isStorableText, TEXT_RULE } from "../../core/contracts/text.ts";

/** Query-string parsing for search and item detail: every problem is reported as { field, rule, received }. */

export const MAX_SEARCH_N = 100;
export const MAX_Q_CHARS = 256;
const ATTR_PREFIX = "attr.";
const KNOWN = ["q", "category", "available", "n", "cursor", "user_id", "min_position"] as const;

export interface SearchCursor {
  /** The last hit's score and id on the previous page (hits are ordered by score desc, then id). */
  score: number;
  item_id: string;
}

export interface SearchParams {
  q?: string;
  categories: string[];
  attributes: [string, string][];
  available: boolean | undefined;
  n: number;
  cursor?: SearchCursor;
  userId?: string;
  minPosition?: string;
}

type Query = Record<string, unknown>;

const once = (query: Query, name: string, errors: FieldError[]): string | undefined => {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") {
    errors.push({ field: name, rule: "must be given once", received: raw });
    return undefined;
  }
  return raw;
};

/**
 * A page token: "<score>_<item id>" of the previous page's last hit. Plain text, so the OpenAPI pattern below
 * says exactly which tokens are valid; clients pass `next_cursor` back as it came.
 */
export const CURSOR_PATTERN = `^-?[0-9]{1,20}(\\.[0-9]{1,20})?(e[-+]?[0-9]{1,2})?_${ID_PATTERN.slice(1, -2)}{1,${MAX_ID_CHARS}}$`;
const CURSOR_SCORE = /^-?[0-9]{1,20}(\.[0-9]{1,20})?(e[-+]?[0-9]{1,2})?$/;

export function encodeCursor(cursor: SearchCursor): string {
  return `${cursor.score}_${cursor.item_id}`;
}

/** The score part by its pattern, the id by the id rule (which counts code points, as the OpenAPI pattern does). */
export function decodeCursor(token: string): SearchCursor | undefined {
  const at = token.indexOf("_");
  if (at < 0 || !CURSOR_SCORE.test(token.slice(0, at))) return undefined;
  const score = Number(token.slice(0, at));
  const itemId = token.slice(at + 1);
  if (!Number.isFinite(score) || checkId("cursor", itemId)) return undefined;
  return { score, item_id: itemId };
}

export function parseSearchParams(
  query: Query,
): { ok: true; params: SearchParams } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const params: SearchParams = { categories: [], attributes: [], available: true, n: 10 };
  for (const key of Object.keys(query)) {
    if (key.startsWith(ATTR_PREFIX)) {
      const name = key.slice(ATTR_PREFIX.length);
      const value = once(query, key, errors);
      if (name.length === 0 || name.length > 128 || name.includes("="))
        errors.push({
          field: key,
          rule: "must be attr.KEY with a KEY of 1–128 characters without '='",
          received: key,
        });
      else if (!isStorableText(name)) errors.push({ field: key, rule: TEXT_RULE, received: key });
      else if (value !== undefined) {
        if (!isStorableText(value)) errors.push({ field: key, rule: TEXT_RULE, received: value });
        else if (value.length === 0 || value.length > 1024)
          errors.push({ field: key, rule: "must be a value of 1–1024 characters", received: value });
        else params.attributes.push([name, value]);
      }
    } else if (!(KNOWN as readonly string[]).includes(key))
      errors.push({
        field: key,
        rule: `unknown parameter (known: ${KNOWN.join(", ")}, attr.KEY)`,
        received: query[key],
      });
  }
  const q = once(query, "q", errors);
  if (q !== undefined) {
    if (!isStorableText(q)) errors.push({ field: "q", rule: TEXT_RULE, received: q });
    else if (q.length > MAX_Q_CHARS)
      errors.push({
        field: "q",
        rule: `must be at most ${MAX_Q_CHARS} characters`,
        received: q.slice(0, 64) + "…",
      });
    else params.q = q;
  }
  const categories =
    query.category === undefined ? [] : Array.isArray(query.category) ? query.category : [query.category];
  for (const c of categories) {
    if (typeof c !== "string" || c.trim() === "" || c.length > 128)
      errors.push({
        field: "category",
        rule: "must be a non-empty string of at most 128 characters",
        received: c,
      });
    else if (!isStorableText(c)) errors.push({ field: "category", rule: TEXT_RULE, received: c });
    else
      params.categories.push(
        ...c
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      );
  }
  const available = once(query, "available", errors);
  if (available !== undefined) {
    if (available === "true") params.available = true;
    else if (available === "false") params.available = false;
    else if (available === "any") params.available = undefined;
    else
      errors.push({ field: "available", rule: "must be true (default), false or any", received: available });
  }
  const n = once(query, "n", errors);
  if (n !== undefined) {
    const value = /^\d{1,4}$/.test(n) ? Number(n) : NaN;
    if (!(value >= 1 && value <= MAX_SEARCH_N))
      errors.push({ field: "n", rule: `must be an integer from 1 to ${MAX_SEARCH_N}`, received: n });
    else params.n = value;
  }
  const userId = once(query, "user_id", errors);
  if (userId !== undefined) {
    const idError = checkId("user_id", userId);
    if (idError) errors.push(idError);
    else params.userId = userId;
  }
  const cursor = once(query, "cursor", errors);
  if (cursor !== undefined) {
    const decoded = decodeCursor(cursor);
    if (!decoded)
      errors.push({
        field: "cursor",
        rule: "must be a next_cursor returned by GET /v1/search",
        received: cursor,
      });
    else params.cursor = decoded;
  }
  const minPosition = once(query, "min_position", errors);
  if (minPosition !== undefined) {
    if (!parsePositionToken(minPosition))
      errors.push({ field: "min_position", rule: POSITION_TOKEN_RULE, received: minPosition });
    else params.minPosition = minPosition;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, params };
}

export const DETAIL_INCLUDES = ["stats", "similar"] as const;
export type DetailInclude = (typeof DETAIL_INCLUDES)[number];

export interface DetailParams {
  include: Set<DetailInclude>;
  similarN: number;
  minPosition?: string;
}

export function parseDetailParams(
  query: Query,
): { ok: true; params: DetailParams } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const params: DetailParams = { include: new Set(DETAIL_INCLUDES), similarN: 10 };
  for (const key of Object.keys(query))
    if (!["include", "similar_n", "min_position"].includes(key))
      errors.push({
        field: key,
        rule: "unknown parameter (known: include, similar_n, min_position)",
        received: query[key],
      });
  const include = once(query, "include", errors);
  if (include !== undefined) {
    params.include = new Set();
    // Exactly the documented form: names separated by single commas, nothing around them.
    if (!/^(stats|similar)(,(stats|similar))*$/.test(include))
      errors.push({
        field: "include",
        rule: `must be ${DETAIL_INCLUDES.join(" and/or ")} separated by commas`,
        received: include,
      });
    else for (const part of include.split(",")) params.include.add(part as DetailInclude);
  }
  const n = once(query, "similar_n", errors);
  if (n !== undefined) {
    const value = /^\d{1,3}$/.test(n) ? Number(n) : NaN;
    if (!(value >= 1 && value <= 50))
      errors.push({ field: "similar_n", rule: "must be an integer from 1 to 50", received: n });
    else params.similarN = value;
  }
  const minPosition = once(query, "min_position", errors);
  if (minPosition !== undefined) {
    if (!parsePositionToken(minPosition))
      errors.push({ field: "min_position", rule: POSITION_TOKEN_RULE, received: minPosition });
    else params.minPosition = minPosition;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, params };
}
