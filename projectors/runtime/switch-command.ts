import type { Env } from "../../core/config/env.ts";
import { openDatabase } from "../../core/postgres/database.ts";
import { migrate } from "../../core/postgres/migrate.ts";
import { recordAudit } from "../../core/audit/audit-log.ts";
import { cliActor } from "../../core/audit/audit-command.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { openProjectionStore } from "../store/open.ts";
import { REDIS_PROJECTIONS } from "../role.ts";
import { ANALYTICS_PROJECTION_NAME } from "../analytics/projection.ts";
import { catalogReadModels } from "../search/index.ts";
import { featuresConfig } from "../../core/read-models/features-config.ts";
import { ProjectionVersionsBusy, withProjectionVersionsLock } from "./version-lock.ts";
import { SwitchRefused, switchReaders, type SwitchOutcome, type SwitchRequest } from "./version-pin.ts";

/** How long a switch waits for the projection's versions lock (another switch holds it for milliseconds). */
const SWITCH_WAIT_MS = 2_000;

export interface SwitchOptions {
  projection: string;
  version?: string;
  live?: boolean;
}

/** Whether the arguments name a switch at all: the request, or what is wrong with them. */
export function parseSwitchArguments(
  env: Env,
  opts: SwitchOptions,
): { ok: true; request: SwitchRequest } | { ok: false; refusal: SwitchRefused } {
  const refuse = (field: string, rule: string, received: string) => ({
    ok: false as const,
    refusal: new SwitchRefused(field, rule, received),
  });
  const switchable = Object.keys(REDIS_PROJECTIONS);
  if (!switchable.includes(opts.projection)) {
    const known = [
      ANALYTICS_PROJECTION_NAME,
      ...Object.keys(catalogReadModels(featuresConfig(env))),
    ].includes(opts.projection);
    return refuse(
      "--projection",
      known
        ? `must be one of ${switchable.join(", ")}: readers of ${opts.projection} are not switched (analytics ` +
            `checkpoints are queried in their own database, reckon_at_<transaction>_<position>; the catalog ` +
            `read models rebuild to the log head only)`
        : `must be one of ${switchable.join(", ")}`,
      `"${opts.projection}"`,
    );
  }
  if (opts.live && opts.version !== undefined)
    return refuse(
      "--version",
      "give either --version or --live, not both",
      `--version ${opts.version} --live`,
    );
  if (opts.live) return { ok: true, request: { live: true } };
  if (opts.version === undefined) return refuse("--version", "give --version <n> or --live", "neither");
  if (!/^[1-9][0-9]{0,8}$/.test(opts.version))
    return refuse("--version", "must be a positive integer", `"${opts.version}"`);
  return { ok: true, request: { version: Number(opts.version) } };
}

/**
 * `reckon switch --projection NAME (--version V | --live)`: pins readers of a projection-store read model to a
 * checkpoint `reckon replay --to` built, or sends them back to the live version (version-pin.ts). Holds the
 * projection's versions lock (version-lock.ts), so it neither races another switch nor a replay deleting the
 * checkpoints not pinned; refused, naming the holder, when that is not free within SWITCH_WAIT_MS. Audited as `projection.switch` by `cli:<user>`: the entry is
 * written in the transaction that holds the lock and commits only once the store has switched; refusals and
 * failures are recorded after it (outcome refused or failed) and thrown.
 */
export async function runSwitchCommand(
  env: Env,
  opts: SwitchOptions,
  openStore: (url: string) => Promise<ProjectionStore> = openProjectionStore,
): Promise<SwitchOutcome> {
  const audit = { actor: cliActor(), action: "projection.switch", target: opts.projection };
  const asked = {
    ...(opts.version !== undefined ? { version: opts.version } : {}),
    live: opts.live === true,
  };
  const db = openDatabase(env.DATABASE_URL);
  const refuse = async (refusal: SwitchRefused | ProjectionVersionsBusy): Promise<never> => {
    await recordAudit(db, { ...audit, outcome: "refused", details: { ...asked, reason: refusal.message } });
    throw refusal;
  };
  try {
    await migrate(db);
    const parsed = parseSwitchArguments(env, opts);
    if (!parsed.ok) return await refuse(parsed.refusal);
    try {
      if (!env.REDIS_URL) throw new Error("REDIS_URL is required by reckon switch");
      const store = await openStore(env.REDIS_URL);
      try {
        const projection = REDIS_PROJECTIONS[opts.projection]!(store, env);
        return await withProjectionVersionsLock(
          db,
          opts.projection,
          "reckon switch",
          SWITCH_WAIT_MS,
          async (tx) => {
            const outcome = await switchReaders(store, projection, parsed.request);
            await recordAudit(tx, { ...audit, outcome: "ok", details: { ...asked, ...outcome } });
            return outcome;
          },
        );
      } finally {
        await store.close();
      }
    } catch (err) {
      if (err instanceof SwitchRefused || err instanceof ProjectionVersionsBusy) return await refuse(err);
      await recordAudit(db, {
        ...audit,
        outcome: "failed",
        details: { ...asked, error: (err as Error).message },
      });
      throw err;
    }
  } finally {
    await db.close();
  }
}
