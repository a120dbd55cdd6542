import type { FieldError } from "../../core/contracts/validation.ts";
import { ID_FORBIDDEN_CHARS, isValidId } from "../../core/contracts/id.ts";
import type {
  Merchandising,
  MerchTarget,
  PinDirective,
  WeightDirective,
} from "../ranking/rules-merchandising.ts";
import { DEFAULT_RULE_FACTOR } from "../ranking/rules-stored.ts";

/**
 * The per-request merchandising parameters of GET /v1/recommendations (docs/guides/merchandising-rules.md):
 *   pin=ITEM@POSITION, pin_category=CATEGORY@POSITION     the item (the category's best item) at POSITION (1-based)
 *   boost=ITEM[^FACTOR], boost_category=CATEGORY[^FACTOR] compete as if at position p / FACTOR (default 2)
 *   bury=ITEM[^FACTOR], bury_category=CATEGORY[^FACTOR]   compete as if at position p × FACTOR (default 2)
 * Each is repeatable and comma-separated, as `exclude` is. The patterns below are the whole rule (the OpenAPI
 * document publishes them), so a value is accepted exactly when it matches.
 */
export const RULE_PARAMS = [
  "pin",
  "pin_category",
  "boost",
  "boost_category",
  "bury",
  "bury_category",
] as const;
export type RuleParam = (typeof RULE_PARAMS)[number];

export const MAX_REQUEST_RULES = 50;
/** 1 to 200 (the largest n): a pin beyond the list's n is not shown. */
const POSITION = "(?:[1-9][0-9]?|1[0-9][0-9]|200)";
/** A number above 1 and at most 100. */
const FACTOR = "(?:1\\.[0-9]*[1-9][0-9]*|[2-9](?:\\.[0-9]+)?|[1-9][0-9](?:\\.[0-9]+)?|100(?:\\.0+)?)";
/** An item id without "," (the list separator); for boost and bury also without "^" (the factor's). */
const ITEM = `[^${ID_FORBIDDEN_CHARS},]+`;
const WEIGHT_ITEM = `[^${ID_FORBIDDEN_CHARS},^]+`;
/** A category of 1–128 characters, without "," and without blanks at its ends (values are trimmed). */
const CATEGORY = "[^,\\s\\uFEFF](?:[^,]{0,126}[^,\\s\\uFEFF])?";
const WEIGHT_CATEGORY = "[^,\\s\\uFEFF^](?:[^,^]{0,126}[^,\\s\\uFEFF^])?";

export const RULE_PARAM_PATTERNS: Readonly<Record<RuleParam, string>> = {
  pin: `^(${ITEM})@(${POSITION})$`,
  pin_category: `^(${CATEGORY})@(${POSITION})$`,
  boost: `^(${WEIGHT_ITEM})(?:\\^(${FACTOR}))?$`,
  boost_category: `^(${WEIGHT_CATEGORY})(?:\\^(${FACTOR}))?$`,
  bury: `^(${WEIGHT_ITEM})(?:\\^(${FACTOR}))?$`,
  bury_category: `^(${WEIGHT_CATEGORY})(?:\\^(${FACTOR}))?$`,
};
// The `u` flag: lengths count code points, as JSON Schema's do.
const REGEX = Object.fromEntries(
  RULE_PARAMS.map((p) => [p, new RegExp(RULE_PARAM_PATTERNS[p], "u")]),
) as Record<RuleParam, RegExp>;

const RULE_TEXT: Readonly<Record<RuleParam, string>> = {
  pin: "must be ITEM@POSITION (an item id without ',', POSITION an integer from 1 to 200)",
  pin_category: "must be CATEGORY@POSITION (1–128 characters without ',', POSITION an integer from 1 to 200)",
  boost:
    "must be ITEM or ITEM^FACTOR (an item id without ',' or '^', FACTOR a number above 1 and at most 100)",
  boost_category:
    "must be CATEGORY or CATEGORY^FACTOR (1–128 characters without ',' or '^', FACTOR a number above 1 and at most 100)",
  bury: "must be ITEM or ITEM^FACTOR (an item id without ',' or '^', FACTOR a number above 1 and at most 100)",
  bury_category:
    "must be CATEGORY or CATEGORY^FACTOR (1–128 characters without ',' or '^', FACTOR a number above 1 and at most 100)",
};

function parseOne(
  param: RuleParam,
  raw: string,
  errors: FieldError[],
): PinDirective | WeightDirective | undefined {
  const m = REGEX[param].exec(raw);
  const isItem = !param.endsWith("_category");
  if (!m || (isItem && !isValidId(m[1]!))) {
    errors.push({ field: param, rule: RULE_TEXT[param], received: raw });
    return undefined;
  }
  const target: MerchTarget = isItem ? { item: m[1]! } : { category: m[1]! };
  if (param.startsWith("pin")) return { target, position: Number(m[2]) };
  const factor = m[2] === undefined ? DEFAULT_RULE_FACTOR : Number(m[2]);
  return { target, factor: param.startsWith("bury") ? 1 / factor : factor };
}

/** The request's directives from its rule parameters' values (already split on commas). */
export function parseRequestRules(
  values: Readonly<Record<RuleParam, readonly string[]>>,
  errors: FieldError[],
): Merchandising {
  const pins: PinDirective[] = [];
  const weights: WeightDirective[] = [];
  const total = RULE_PARAMS.reduce((sum, p) => sum + values[p].length, 0);
  if (total > MAX_REQUEST_RULES) {
    errors.push({
      field: RULE_PARAMS.filter((p) => values[p].length > 0).join(", "),
      rule: `at most ${MAX_REQUEST_RULES} pins, boosts and buries per request`,
      received: total,
    });
    return { pins, weights };
  }
  for (const param of RULE_PARAMS)
    for (const raw of values[param]) {
      const directive = parseOne(param, raw, errors);
      if (directive && "position" in directive) pins.push(directive);
      else if (directive) weights.push(directive);
    }
  return { pins, weights };
}
