// The stored merchandising rule, as clients write it: the one zod source of validation, TS types and the
// OpenAPI components. What the rules do to a list: docs/guides/merchandising-rules.md.
import { z } from "zod";
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { IdSchema } from "../../core/contracts/id.ts";
import { reportUnstorableText, TimestampSchema } from "../../core/contracts/text.ts";

extendZodWithOpenApi(z);

/** The longest list a pin may reach (serving's largest n). */
export const MAX_PIN_POSITION = 200;
/** Boost and bury factors: above 1, at most this. */
export const MAX_RULE_FACTOR = 100;
/** Users a rule's scope may name one by one. */
export const MAX_SCOPE_USERS = 1000;
/** Request context fields a rule's scope may match (the GET /v1/recommendations parameters of the same name). */
export const SCOPE_CONTEXT_FIELDS = ["country", "device", "platform", "page", "locale"] as const;

const CategorySchema = z.string().min(1, "must not be empty").max(128, "must be at most 128 characters");
const contextValues = z
  .array(z.string().min(1).max(2048))
  .min(1, "must list at least one value")
  .max(100, "must list at most 100 values");

export const RuleScopeSchema = z
  .strictObject({
    user_ids: z
      .array(IdSchema)
      .min(1, "must list at least one user")
      .max(MAX_SCOPE_USERS, `must list at most ${MAX_SCOPE_USERS} users`)
      .optional()
      .openapi({ description: "only these users (absent: every user)" }),
    context: z
      .strictObject(Object.fromEntries(SCOPE_CONTEXT_FIELDS.map((f) => [f, contextValues.optional()])))
      .optional()
      .openapi({
        description:
          "only requests whose context parameter (?country=, ?device=, ...) is one of the listed values; every listed field must match",
      }),
  })
  .openapi("MerchandisingRuleScope");

/** Each field's own rule (optional ones are marked where the definition and the patch use them). */
const fieldSchemas = {
  name: z.string().min(1, "must not be empty").max(200, "must be at most 200 characters"),
  action: z.enum(["pin", "boost", "bury"], "must be one of pin, boost, bury"),
  item_id: IdSchema.openapi({ description: "the item the rule acts on (or category)" }),
  category: CategorySchema.openapi({ description: "every item in this category (or item_id)" }),
  position: z
    .number("must be a number")
    .int("must be an integer")
    .min(1, "must be at least 1")
    .max(MAX_PIN_POSITION, `must be at most ${MAX_PIN_POSITION}`)
    .openapi({ description: "pin only: the 1-based position in the list" }),
  factor: z
    .number("must be a number")
    .gt(1, "must be greater than 1")
    .max(MAX_RULE_FACTOR, `must be at most ${MAX_RULE_FACTOR}`)
    .openapi({
      description:
        "boost and bury only (default 2): a boosted item competes as if at position p / factor, a buried one at p × factor",
    }),
  scope: RuleScopeSchema,
  active_from: TimestampSchema.openapi({ description: "inactive before this time" }),
  active_until: TimestampSchema.openapi({ description: "inactive from this time on" }),
  enabled: z.boolean("must be true or false").openapi({ description: "default true" }),
};

const ruleFields = {
  name: fieldSchemas.name,
  action: fieldSchemas.action,
  item_id: fieldSchemas.item_id.optional(),
  category: fieldSchemas.category.optional(),
  position: fieldSchemas.position.optional(),
  factor: fieldSchemas.factor.optional(),
  scope: fieldSchemas.scope.optional(),
  active_from: fieldSchemas.active_from.optional(),
  active_until: fieldSchemas.active_until.optional(),
  enabled: fieldSchemas.enabled.optional(),
};

/** The rules that tie fields together, shared by a new definition and a patched one. */
function checkRule(rule: z.infer<z.ZodObject<typeof ruleFields>>, ctx: z.RefinementCtx): void {
  reportUnstorableText({ name: rule.name, category: rule.category, scope: rule.scope }, ctx);
  if ((rule.item_id === undefined) === (rule.category === undefined))
    ctx.addIssue({
      code: "custom",
      path: ["item_id"],
      message: "exactly one of item_id and category is required",
    });
  if (rule.action === "pin" && rule.position === undefined)
    ctx.addIssue({ code: "custom", path: ["position"], message: 'is required for action "pin"' });
  if (rule.action !== "pin" && rule.position !== undefined)
    ctx.addIssue({ code: "custom", path: ["position"], message: 'is only allowed for action "pin"' });
  if (rule.action === "pin" && rule.factor !== undefined)
    ctx.addIssue({
      code: "custom",
      path: ["factor"],
      message: 'is only allowed for actions "boost" and "bury"',
    });
  if (
    rule.active_from !== undefined &&
    rule.active_until !== undefined &&
    Date.parse(rule.active_from) >= Date.parse(rule.active_until)
  )
    ctx.addIssue({ code: "custom", path: ["active_until"], message: "must be later than active_from" });
}

export const RuleDefinitionSchema = z
  .strictObject(ruleFields)
  .superRefine(checkRule)
  .openapi("MerchandisingRuleDefinition");

/** PATCH: any fields of the definition (null clears an optional one), plus the version the change is based on. */
export const RulePatchSchema = z
  .strictObject({
    name: fieldSchemas.name.optional(),
    action: fieldSchemas.action.optional(),
    item_id: fieldSchemas.item_id.nullable().optional(),
    category: fieldSchemas.category.nullable().optional(),
    position: fieldSchemas.position.nullable().optional(),
    factor: fieldSchemas.factor.nullable().optional(),
    scope: fieldSchemas.scope.nullable().optional(),
    active_from: fieldSchemas.active_from.nullable().optional(),
    active_until: fieldSchemas.active_until.nullable().optional(),
    enabled: fieldSchemas.enabled.optional(),
    expected_version: z
      .number("must be a number")
      .int("must be an integer")
      .min(1, "must be at least 1")
      .optional(),
  })
  .openapi("MerchandisingRulePatch");

export type RuleDefinition = z.infer<typeof RuleDefinitionSchema>;
export type RuleScope = z.infer<typeof RuleScopeSchema>;

/** A patched definition: the stored one with the patch's fields set (null removes), checked whole again. */
export function patchDefinition(
  current: RuleDefinition,
  patch: Readonly<Record<string, unknown>>,
): z.ZodSafeParseResult<RuleDefinition> {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (key === "expected_version") continue;
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return RuleDefinitionSchema.safeParse(merged);
}
