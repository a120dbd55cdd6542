import { userInfo } from "node:os";
import type { Request, RequestHandler } from "express";
import type { Queryable } from "../postgres/database.ts";
import { requestLogger } from "../http/request-id.ts";
import { recordAudit, type AuditOutcome } from "./audit-log.ts";

/** How an HTTP status ends a command: 2xx/3xx accepted, 4xx refused by a rule, 5xx failed on the way. */
export function outcomeOfStatus(status: number): AuditOutcome {
  if (status >= 500) return "failed";
  if (status >= 400) return "refused";
  return "ok";
}

/** The actor of a command run with the `reckon` CLI: `cli:<operating-system user>`. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    // A uid without a passwd entry (some containers): still a CLI command, by an unnamed user.
    return "cli:unknown";
  }
}

/** What a route says about one command it answered: its target and the details worth keeping. */
export type DescribeCommand = (
  req: Request,
  body: unknown,
) => { target?: string | undefined; details?: Record<string, unknown> };

/**
 * Records every answer of a command route in the audit log before the answer is sent: the caller's key id,
 * the request id, `action`, the target `describe` names, and the outcome from the status. Mount it after
 * `requireScope` (a request without a valid key is no one's command) and before the handler, so refusals of
 * body checks and failures the error handler answers are recorded too. Wrapping `res.json` makes the entry
 * durable before the client sees the answer; a failure to record is logged and the answer still goes out.
 */
export function auditCommand(db: Queryable, action: string, describe?: DescribeCommand): RequestHandler {
  return (req, res, next) => {
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      res.json = send;
      const described = safeDescribe(describe, req, body);
      const error = (body as { error?: unknown } | null)?.error;
      recordAudit(db, {
        actor: req.caller?.keyId ?? "anonymous",
        requestId: req.requestId,
        action,
        target: described.target,
        outcome: outcomeOfStatus(res.statusCode),
        details: {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ...(typeof error === "string" ? { error } : {}),
          ...described.details,
        },
      })
        .catch((err: unknown) => requestLogger(req).error({ err, action }, "audit entry not recorded"))
        .finally(() => send(body));
      return res;
    };
    next();
  };
}

function safeDescribe(describe: DescribeCommand | undefined, req: Request, body: unknown) {
  try {
    return describe?.(req, body) ?? {};
  } catch {
    return {};
  }
}

/** The route parameter `name` as the target (item id, experiment key, ...). */
export const targetParam =
  (name: string): DescribeCommand =>
  (req) => ({ target: typeof req.params[name] === "string" ? req.params[name] : undefined });

/**
 * For versioned aggregates (experiments, holdouts): the target is the `:key` parameter, else the answer's or
 * the request body's `key` (a create); the details carry the version the command produced.
 */
export const describeKeyedAggregate: DescribeCommand = (req, body) => {
  const answer = (body ?? {}) as { key?: unknown; version?: unknown };
  const request = (req.body ?? {}) as { key?: unknown };
  const key = [req.params.key, answer.key, request.key].find((k) => typeof k === "string");
  return {
    target: key as string | undefined,
    details: typeof answer.version === "number" ? { version: answer.version } : {},
  };
};

/**
 * Runs a command that is not an HTTP request (a CLI command, a self-rebuild) and records how it ended: `ok` with
 * the details its result gives, or `failed` with the error's message (the error is rethrown).
 */
export async function auditedRun<T>(
  db: Queryable,
  entry: { actor: string; action: string; target?: string; requestId?: string },
  work: () => Promise<T>,
  details: (result: T) => Record<string, unknown> = () => ({}),
): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await recordAudit(db, { ...entry, outcome: "failed", details: { error: (err as Error).message } });
    throw err;
  }
  await recordAudit(db, { ...entry, outcome: "ok", details: details(result) });
  return result;
}
