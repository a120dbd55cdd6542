import { userInfo } from "node:os";
import type { Env } from "../../core/config/env.ts";
import { openDatabase } from "../../core/postgres/database.ts";
import { migrate } from "../../core/postgres/migrate.ts";
import { parseRetractionRequest } from "./request.ts";
import { retractEvents, type RetractionOutcome } from "./retract.ts";

/** The CLI's options as commander gives them, mapped to the HTTP request's fields. */
export function retractRequestBody(opts: Record<string, string | string[] | boolean | undefined>): unknown {
  const body: Record<string, unknown> = {};
  const set = (field: string, value: unknown) => {
    if (value !== undefined) body[field] = value;
  };
  set("event_ids", opts.eventId);
  set("user_id", opts.user);
  set("type", opts.type);
  set("experiment", opts.experiment);
  set("from", opts.from);
  set("to", opts.to);
  set("reason", opts.reason);
  set("dry_run", opts.dryRun === true);
  return body;
}

/** `reckon retract …`: the same command as POST /v1/retractions, audited as `cli:<user>`. */
export async function runRetractCommand(
  env: Pick<Env, "DATABASE_URL">,
  opts: Record<string, string | string[] | boolean | undefined>,
): Promise<RetractionOutcome> {
  const parsed = parseRetractionRequest(retractRequestBody(opts));
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.field}: ${e.rule}`).join("; "));
  const db = openDatabase(env.DATABASE_URL);
  try {
    await migrate(db);
    return await retractEvents(db, parsed.request, { actor: `cli:${userInfo().username}` });
  } finally {
    await db.close();
  }
}
