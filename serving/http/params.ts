import type { FieldError } from "../../core/contracts/validation.ts";
import { parsePositionToken, POSITION_TOKEN_RULE } from "../../core/contracts/position.ts";
import type { Merchandising } from "../ranking/rules-merchandising.ts";
import { parseRequestRules, RULE_PARAMS } from "./rules-params.ts";

/** Query-string parsing for the read API: every problem is reported as { field, rule, received }. */

export const MAX_N = 200;
const CONTEXT_FIELDS = ["session_id", "device", "platform", "page", "country", "locale"] as const;

export interface RecommendationParams {
  n: number;
  categories: string[];
  exclude: string[];
  minPosition?: string;
  /** Rank as this experiment's variant for the user says (and record the exposure). */
  experiment?: string;
  context: Partial<Record<(typeof CONTEXT_FIELDS)[number], string>>;
  /** The request's pins, boosts and buries (rules-params.ts). */
  merchandising: Merchandising;
}

type Query = Record<string, unknown>;

function values(query: Query, name: string, errors: FieldError[]): string[] {
  const raw = query[name];
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const v of list) {
    if (typeof v !== "string" || v.trim() === "" || v.length > 256) {
      errors.push({ field: name, rule: "must be a non-empty string of at most 256 characters", received: v });
      continue;
    }
    // Repeatable, and comma-separated for convenience: ?exclude=a,b&exclude=c
    out.push(
      ...v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }
  return out;
}

function single(query: Query, name: string, errors: FieldError[]): string | undefined {
  const raw = query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") {
    errors.push({ field: name, rule: "must be given once", received: raw });
    return undefined;
  }
  return raw;
}

function parseN(query: Query, errors: FieldError[], fallback = 10): number {
  const raw = single(query, "n", errors);
  if (raw === undefined) return fallback;
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_N) {
    errors.push({ field: "n", rule: `must be an integer from 1 to ${MAX_N}`, received: raw });
    return fallback;
  }
  return n;
}

function rejectUnknown(query: Query, known: readonly string[], errors: FieldError[]): void {
  for (const key of Object.keys(query))
    if (!known.includes(key))
      errors.push({
        field: key,
        rule: `unknown parameter (known: ${known.join(", ")})`,
        received: query[key],
      });
}

/** Every parameter GET /v1/recommendations takes (one list for every request). */
const RECOMMENDATION_PARAMS: readonly string[] = [
  "n",
  "category",
  "exclude",
  "min_position",
  "experiment",
  ...CONTEXT_FIELDS,
  ...RULE_PARAMS,
];

export function parseRecommendationParams(
  query: Query,
): { ok: true; params: RecommendationParams } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  rejectUnknown(query, RECOMMENDATION_PARAMS, errors);
  const n = parseN(query, errors);
  const categories = values(query, "category", errors);
  const exclude = values(query, "exclude", errors);
  const minPosition = single(query, "min_position", errors);
  if (minPosition !== undefined && !parsePositionToken(minPosition))
    errors.push({ field: "min_position", rule: POSITION_TOKEN_RULE, received: minPosition });
  const experiment = single(query, "experiment", errors);
  if (experiment !== undefined && !/^[a-z0-9][a-z0-9_.-]{0,127}$/i.test(experiment))
    errors.push({
      field: "experiment",
      rule: "must be an experiment key (letters, digits, '.', '_' or '-', at most 128)",
      received: experiment,
    });
  const context: RecommendationParams["context"] = {};
  for (const field of CONTEXT_FIELDS) {
    const v = single(query, field, errors);
    if (v === undefined) continue;
    if (field === "country" && !/^[A-Z]{2}$/.test(v))
      errors.push({ field, rule: "must be an ISO 3166-1 alpha-2 code, e.g. DE", received: v });
    else if (v.length > 2048)
      errors.push({ field, rule: "must be at most 2048 characters", received: `${v.slice(0, 200)}…` });
    else context[field] = v;
  }
  const ruleValues = Object.fromEntries(RULE_PARAMS.map((p) => [p, values(query, p, errors)])) as Record<
    (typeof RULE_PARAMS)[number],
    string[]
  >;
  const merchandising = parseRequestRules(ruleValues, errors);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    params: {
      n,
      categories,
      exclude,
      minPosition,
      ...(experiment ? { experiment } : {}),
      context,
      merchandising,
    },
  };
}

export function parseSimilarParams(
  query: Query,
): { ok: true; n: number; categories: string[] } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  rejectUnknown(query, ["n", "category"], errors);
  const n = parseN(query, errors);
  const categories = values(query, "category", errors);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, n, categories };
}

/** Path ids follow the event contract's identifier rule. */
/** The one id rule of core/contracts, for path parameters. */
export { checkId } from "../../core/contracts/id.ts";
