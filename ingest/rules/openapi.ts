import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { bearerAuth, ErrorSchema, json, jsonBodyResponses, keyedResponses } from "../../core/http/openapi.ts";
import { IdSchema } from "../../core/contracts/id.ts";
import { RuleDefinitionSchema, RulePatchSchema } from "./definition-schema.ts";
import { RULES_PATH } from "./router.ts";

const RuleSchema = z
  .object({
    id: z.string(),
    version: z.number().int(),
    status: z.enum(["active", "deleted"]),
    definition: RuleDefinitionSchema,
    created_at: z.string(),
    created_by: z.string(),
    updated_at: z.string(),
    updated_by: z.string(),
    deleted_at: z.string().nullable(),
  })
  .openapi("MerchandisingRule");

const ChangeSchema = z
  .object({
    rule_id: z.string(),
    version: z.number().int(),
    event_type: z.enum(["RuleCreated", "RuleUpdated", "RuleDeleted"]),
    api_key_id: z.string(),
    at: z.string(),
    change: z.record(z.string(), z.unknown()).openapi({
      description: "RuleCreated: {definition}; RuleUpdated: {changes: {field: {from, to}}}; RuleDeleted: {}",
    }),
  })
  .openapi("MerchandisingRuleChange");

const params = z.object({ ruleId: IdSchema });
const ifMatch = z.object({
  "if-match": z
    .string()
    .regex(/^(W\/)?"?\d{1,9}"?$/)
    .optional()
    .openapi({ description: 'The rule version the change is based on, e.g. "3" (or expected_version)' }),
});

export function registerRulesOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  const refused = {
    404: json(ErrorSchema, "No such rule"),
    409: json(ErrorSchema, "Stale version (reload and retry), or the rule is deleted"),
    428: json(ErrorSchema, "Neither If-Match nor expected_version was sent"),
  };
  registry.registerPath({
    method: "post",
    path: RULES_PATH,
    summary: "Create a merchandising rule (pin, boost or bury an item or a category); audited",
    security,
    request: { body: { required: true, content: { "application/json": { schema: RuleDefinitionSchema } } } },
    responses: {
      201: json(RuleSchema, "Created (version 1); ETag is the version"),
      ...jsonBodyResponses,
      ...keyedResponses("admin"),
    },
  });
  registry.registerPath({
    method: "get",
    path: RULES_PATH,
    summary: "The merchandising rules, oldest first",
    security,
    request: { query: z.strictObject({ include_deleted: z.enum(["true", "false"]).optional() }) },
    responses: {
      200: json(z.object({ rules: z.array(RuleSchema) }), "The rules"),
      400: json(ErrorSchema, "Malformed parameter"),
      ...keyedResponses("read"),
    },
  });
  registry.registerPath({
    method: "get",
    path: `${RULES_PATH}/{ruleId}`,
    summary: "One merchandising rule; ETag is its version",
    security,
    request: { params },
    responses: {
      200: json(RuleSchema, "The rule"),
      400: json(ErrorSchema, "Malformed rule id"),
      404: refused[404],
      ...keyedResponses("read"),
    },
  });
  registry.registerPath({
    method: "patch",
    path: `${RULES_PATH}/{ruleId}`,
    summary: "Change fields of a rule (null clears an optional one), based on the version read; audited",
    security,
    request: {
      params,
      headers: ifMatch,
      body: { required: true, content: { "application/json": { schema: RulePatchSchema } } },
    },
    responses: {
      200: json(RuleSchema, "Changed (or unchanged when nothing differs); ETag is the version"),
      ...jsonBodyResponses,
      ...refused,
      ...keyedResponses("admin"),
    },
  });
  registry.registerPath({
    method: "delete",
    path: `${RULES_PATH}/{ruleId}`,
    summary: "Delete a rule (it stops applying; its history stays); audited",
    security,
    request: {
      params,
      headers: ifMatch,
      query: z.strictObject({
        expected_version: z
          .string()
          .regex(/^\d{1,9}$/)
          .optional(),
      }),
    },
    responses: {
      200: json(RuleSchema, "Deleted"),
      400: json(ErrorSchema, "Malformed rule id or version"),
      ...refused,
      ...keyedResponses("admin"),
    },
  });
  registry.registerPath({
    method: "get",
    path: `${RULES_PATH}/{ruleId}/changes`,
    summary: "A rule's change history, one entry per version",
    security,
    request: { params },
    responses: {
      200: json(z.object({ rule_id: z.string(), changes: z.array(ChangeSchema) }), "The history"),
      400: json(ErrorSchema, "Malformed rule id"),
      404: refused[404],
      ...keyedResponses("read"),
    },
  });
}
