// The merchandising rules API: create, list, read, update, delete (admin for changes, read for reads), each change
// versioned (If-Match or expected_version), kept in the rule's change history and in the audit log.
import { randomUUID } from "node:crypto";
import { Router, type Request, type Response } from "express";
import type { Database } from "../../core/postgres/database.ts";
import { type ApiKeys, requireScope } from "../../core/http/auth.ts";
import { requireJsonObjectBody } from "../../core/http/json-body.ts";
import { checkId } from "../../core/contracts/id.ts";
import { toFieldErrors, type FieldError } from "../../core/contracts/validation.ts";
import { isRuleError, RULE_ERROR_HTTP_STATUS, type ExistingRule, type RuleCommand } from "./decider.ts";
import { RulePatchSchema } from "./definition-schema.ts";
import { RuleRepository } from "./repository.ts";
import { recordAudit } from "../../core/audit/audit-log.ts";

export const RULES_PATH = "/v1/merchandising/rules";

export interface RulesRouterOptions {
  db: Database;
  keys: ApiKeys;
  now?: () => Date;
}

type Handler = (req: Request, res: Response) => Promise<void>;

export function rulesRouter(options: RulesRouterOptions): Router {
  const repo = new RuleRepository(options.db);
  const now = options.now ?? (() => new Date());
  const admin = requireScope(options.keys, "admin");
  const read = requireScope(options.keys, "read");
  const router = Router();
  router.param("ruleId", (req, res, next, id: string) => {
    const error = checkId("ruleId", id);
    if (!error) return next();
    invalid(res, [error]);
  });

  const run = async (req: Request, res: Response, command: RuleCommand, status = 200) => {
    try {
      const rule = await repo.execute(command, now(), {
        actor: req.caller!.keyId,
        requestId: req.get("x-request-id"),
      });
      res.status(status).set("ETag", `"${rule.version}"`).json(resource(rule));
    } catch (err) {
      if (!isRuleError(err)) throw err;
      res
        .status(RULE_ERROR_HTTP_STATUS[err.code])
        .json({ error: err.code, message: err.message, errors: err.errors });
    }
  };

  const create: Handler = async (req, res) => {
    const command: RuleCommand = {
      type: "CreateRule",
      data: { rule_id: randomUUID(), api_key_id: req.caller!.keyId, definition: req.body },
    };
    await run(req, res, command, 201);
  };

  const list: Handler = async (req, res) => {
    const flag = req.query.include_deleted;
    if (flag !== undefined && flag !== "true" && flag !== "false")
      return invalid(res, [{ field: "include_deleted", rule: "must be true or false", received: flag }]);
    res.json({ rules: (await repo.list(flag === "true")).map(resource) });
  };

  const get: Handler = async (req, res) => {
    const rule = await repo.get(String(req.params.ruleId));
    if (!rule) return notFound(res, String(req.params.ruleId));
    res.set("ETag", `"${rule.version}"`).json(resource(rule));
  };

  /** A change refused before it reached the decider: audited as the decider's refusals are. */
  const refuse = async (req: Request, res: Response, action: string, send: (res: Response) => void) => {
    await recordAudit(options.db, {
      actor: req.caller!.keyId,
      requestId: req.get("x-request-id"),
      action,
      target: String(req.params.ruleId),
      outcome: "refused",
      details: { error: "validation" },
    });
    send(res);
  };

  const update: Handler = async (req, res) => {
    const parsed = RulePatchSchema.safeParse(req.body);
    if (!parsed.success)
      return refuse(req, res, "rule.update", (r) => invalid(r, toFieldErrors(parsed.error, req.body)));
    const version = expectedVersion(req, parsed.data.expected_version);
    if (typeof version !== "number") return refuse(req, res, "rule.update", version);
    const patch = Object.fromEntries(
      Object.entries(req.body as object).filter(([k]) => k !== "expected_version"),
    );
    await run(req, res, {
      type: "UpdateRule",
      data: {
        rule_id: String(req.params.ruleId),
        api_key_id: req.caller!.keyId,
        expected_version: version,
        patch,
      },
    });
  };

  const remove: Handler = async (req, res) => {
    const raw = req.query.expected_version;
    let fromQuery: number | undefined;
    if (raw !== undefined) {
      fromQuery = typeof raw === "string" && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
      if (!(fromQuery >= 1))
        return refuse(req, res, "rule.delete", (r) =>
          invalid(r, [{ field: "expected_version", rule: "must be a positive integer", received: raw }]),
        );
    }
    const version = expectedVersion(req, fromQuery);
    if (typeof version !== "number") return refuse(req, res, "rule.delete", version);
    await run(req, res, {
      type: "DeleteRule",
      data: { rule_id: String(req.params.ruleId), api_key_id: req.caller!.keyId, expected_version: version },
    });
  };

  const changes: Handler = async (req, res) => {
    const id = String(req.params.ruleId);
    const history = await repo.changes(id);
    if (history.length === 0) return notFound(res, id);
    res.json({ rule_id: id, changes: history });
  };

  router.post(RULES_PATH, admin, requireJsonObjectBody, create);
  router.get(RULES_PATH, read, list);
  router.get(`${RULES_PATH}/:ruleId`, read, get);
  router.patch(`${RULES_PATH}/:ruleId`, admin, requireJsonObjectBody, update);
  router.delete(`${RULES_PATH}/:ruleId`, admin, remove);
  router.get(`${RULES_PATH}/:ruleId/changes`, read, changes);
  return router;
}

function resource(rule: ExistingRule) {
  return {
    id: rule.id,
    version: rule.version,
    status: rule.status,
    definition: rule.definition,
    created_at: rule.created_at,
    created_by: rule.created_by,
    updated_at: rule.updated_at,
    updated_by: rule.updated_by,
    deleted_at: rule.deleted_at,
  };
}

/**
 * The version a change is based on: If-Match or the body's/query's expected_version (equal when both are sent);
 * else the answer that refuses the request.
 */
function expectedVersion(req: Request, given: number | undefined): number | ((res: Response) => void) {
  const header = req.get("if-match");
  let fromHeader: number | undefined;
  if (header !== undefined) {
    const text = header.replace(/^W\//, "").replace(/"/g, "").trim();
    fromHeader = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
    if (!(fromHeader >= 1))
      return (res) =>
        invalid(res, [{ field: "If-Match", rule: 'must be the rule version, e.g. "3"', received: header }]);
  }
  if (fromHeader !== undefined && given !== undefined && fromHeader !== given)
    return (res) =>
      invalid(res, [
        {
          field: "expected_version",
          rule: `must equal If-Match (${fromHeader}) when both are sent`,
          received: given,
        },
      ]);
  const version = fromHeader ?? given;
  if (version !== undefined) return version;
  return (res) =>
    void res.status(428).json({
      error: "precondition_required",
      message:
        'send the version you read, as If-Match: "<version>" or expected_version, so a concurrent change is not overwritten',
      errors: [{ field: "expected_version", rule: "required (or the If-Match header)" }],
    });
}

function invalid(res: Response, errors: FieldError[]): void {
  res
    .status(400)
    .json({ error: "validation", message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "), errors });
}

function notFound(res: Response, id: string): void {
  res.status(404).json({ error: "not_found", message: `no rule ${JSON.stringify(id)}` });
}
