import type { Database } from "../../core/postgres/database.ts";
import { logger } from "../../core/logger.ts";
import { SCOPE_CONTEXT_FIELDS, type ExistingRule } from "../../ingest/rules/index.ts";
import type { Merchandising, MerchTarget, PinDirective, WeightDirective } from "./rules-merchandising.ts";

/** What ingest/rules/repository.ts notifies on every rule change. */
const RULES_CHANNEL = "reckon_merchandising_rules";

type ContextField = (typeof SCOPE_CONTEXT_FIELDS)[number];
/** The request's context parameters a rule's scope may match. */
export type RuleContext = Partial<Record<ContextField | "session_id", string>>;

/** A stored rule in the form a request checks it: its directive and its conditions, parsed once. */
export interface CompiledRule {
  readonly id: string;
  readonly pin?: PinDirective;
  readonly weight?: WeightDirective;
  readonly users?: ReadonlySet<string>;
  readonly context?: readonly (readonly [ContextField, ReadonlySet<string>])[];
  readonly fromMs: number;
  readonly untilMs: number;
}

/** The default factor of a boost or bury that names none. */
export const DEFAULT_RULE_FACTOR = 2;

/** A stored rule → its compiled form; undefined when it can never apply (deleted or disabled). */
export function compileRule(rule: ExistingRule): CompiledRule | undefined {
  const d = rule.definition;
  if (rule.status !== "active" || d.enabled === false) return undefined;
  const target: MerchTarget = d.item_id !== undefined ? { item: d.item_id } : { category: d.category! };
  const factor = d.factor ?? DEFAULT_RULE_FACTOR;
  const context = d.scope?.context
    ? SCOPE_CONTEXT_FIELDS.flatMap((f) => {
        const values = d.scope!.context![f];
        return values ? [[f, new Set(values)] as const] : [];
      })
    : undefined;
  return {
    id: rule.id,
    ...(d.action === "pin"
      ? { pin: { target, position: d.position! } }
      : { weight: { target, factor: d.action === "boost" ? factor : 1 / factor } }),
    ...(d.scope?.user_ids ? { users: new Set(d.scope.user_ids) } : {}),
    ...(context && context.length > 0 ? { context } : {}),
    fromMs: d.active_from ? Date.parse(d.active_from) : -Infinity,
    untilMs: d.active_until ? Date.parse(d.active_until) : Infinity,
  };
}

/** The directives of the rules that apply to this request at `nowMs`, in the rules' order. */
export function applicableRules(
  rules: readonly CompiledRule[],
  userId: string,
  context: RuleContext,
  nowMs: number,
): Merchandising {
  const pins: PinDirective[] = [];
  const weights: WeightDirective[] = [];
  for (const r of rules) {
    if (nowMs < r.fromMs || nowMs >= r.untilMs) continue;
    if (r.users && !r.users.has(userId)) continue;
    if (r.context && !r.context.every(([field, values]) => values.has(context[field] ?? "\u0000"))) continue;
    if (r.pin) pins.push(r.pin);
    if (r.weight) weights.push(r.weight);
  }
  return { pins, weights };
}

/** Where serving reads the stored rules from on each request (in memory; no query per request). */
export interface RulesSource {
  current(): readonly CompiledRule[];
}

export const NO_STORED_RULES: RulesSource = { current: () => [] };

/**
 * Serving's copy of the stored rules: loaded at start, reloaded when a change is notified (LISTEN) and, in case a
 * notification was missed, when the poll sees the change log move. A failed reload keeps the rules it had.
 */
export class StoredRules implements RulesSource {
  private rules: readonly CompiledRule[] = [];
  private seq = -1;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;

  constructor(private readonly options: { db: Database; pollMs: number }) {}

  current(): readonly CompiledRule[] {
    return this.rules;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.pollMs);
    this.timer.unref();
    this.unlisten = await this.options.db
      .listen(RULES_CHANNEL, () => void this.refresh(true))
      .catch((err: unknown) => {
        logger.warn({ err }, "merchandising rules LISTEN unavailable; polling only");
        return undefined;
      });
  }

  /** Reloads when the change log moved (or always, on a notification); concurrent calls share one reload. */
  refresh(notified = false): Promise<void> {
    if (this.refreshing) {
      // A change committed while a reload runs may not be in it: look once more afterwards.
      this.again ||= notified;
      return this.refreshing;
    }
    this.refreshing = this.load(notified).finally(() => {
      this.refreshing = undefined;
      if (this.again) {
        this.again = false;
        void this.refresh(true);
      }
    });
    return this.refreshing;
  }

  private async load(force: boolean): Promise<void> {
    try {
      const { rows } = await this.options.db.query<{ seq: number }>(
        "SELECT coalesce(max(seq), 0)::bigint AS seq FROM merchandising_rule_changes",
      );
      const seq = Number(rows[0]!.seq);
      if (!force && seq === this.seq) return;
      const states = await this.options.db.query<{ state: ExistingRule }>(
        "SELECT state FROM merchandising_rules WHERE status = 'active' ORDER BY created_at, id",
      );
      this.rules = states.rows.flatMap((r) => compileRule(r.state) ?? []);
      this.seq = seq;
    } catch (err) {
      logger.error({ err }, "could not load the merchandising rules; the previous ones stay in force");
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.unlisten?.();
    await this.refreshing;
  }
}
