import { Router } from "express";
import type { Database } from "../../core/postgres/database.ts";
import { type ApiKeys, requireScope } from "../../core/http/auth.ts";
import { ItemBatchEntrySchema, ItemBatchSchema, ItemBodySchema } from "../../core/contracts/item.ts";
import { toFieldErrors, type FieldError } from "../../core/contracts/validation.ts";
import { formatPositionToken } from "../../core/contracts/position.ts";
import { readItem, writeItems, type ItemWrite } from "../catalog-store.ts";
import { checkId } from "../../core/contracts/id.ts";
import { requireJsonObjectBody } from "../../core/http/json-body.ts";
import { auditCommand, targetParam, type DescribeCommand } from "../../core/audit/audit-command.ts";

export interface ItemsRouterOptions {
  db: Database;
  keys: ApiKeys;
  now?: () => Date;
}

/**
 * Catalog commands. `PUT /v1/items/:id` writes one item (optimistic concurrency through `If-Match: <version>`
 * or `expected_version`), `PUT /v1/items` a batch `{ "items": [{ "item_id", ... }] }`; `GET /v1/items/:id` reads.
 */
export function itemsRouter(options: ItemsRouterOptions): Router {
  const router = Router();
  const now = options.now ?? (() => new Date());

  router.put(
    "/v1/items/:itemId",
    requireScope(options.keys, "write"),
    auditCommand(options.db, "catalog.upsert", targetParam("itemId")),
    requireJsonObjectBody,
    async (req, res) => {
      const idError = checkId("itemId", String(req.params.itemId));
      if (idError) {
        res.status(400).json({ error: "invalid_item", message: describe([idError]), errors: [idError] });
        return;
      }
      const parsed = ItemBodySchema.safeParse(req.body);
      if (!parsed.success) {
        const errors = toFieldErrors(parsed.error, req.body);
        res.status(400).json({ error: "invalid_item", message: describe(errors), errors });
        return;
      }
      const ifMatch = req.get("if-match");
      const write: ItemWrite = { ...parsed.data, item_id: String(req.params.itemId) };
      if (ifMatch !== undefined) {
        const version = Number(ifMatch.replace(/^W\//, "").replace(/"/g, ""));
        if (!Number.isInteger(version) || version < 0) {
          const errors = [
            { field: "If-Match", rule: "must be an item version (integer)", received: ifMatch },
          ];
          res.status(400).json({ error: "invalid_item", message: describe(errors), errors });
          return;
        }
        write.expected_version = version;
      }
      const { outcomes, head } = await writeItems(options.db, [write], now());
      const outcome = outcomes[0]!;
      if (outcome.status === "conflict") {
        res.status(409).json({
          error: "conflict",
          message: `item "${outcome.item_id}" is at version ${outcome.current_version}, not ${outcome.expected_version}; read it and retry`,
          ...outcome,
        });
        return;
      }
      res
        .status(outcome.status === "created" ? 201 : 200)
        .set("ETag", `"${outcome.item.version}"`)
        .json({ ...outcome, position: head ? formatPositionToken(head) : null });
    },
  );

  router.put(
    "/v1/items",
    requireScope(options.keys, "write"),
    auditCommand(options.db, "catalog.upsert_batch", describeBatch),
    requireJsonObjectBody,
    async (req, res) => {
      const shape = ItemBatchSchema.safeParse(req.body);
      if (!shape.success) {
        const errors = toFieldErrors(shape.error, req.body);
        res.status(400).json({ error: "invalid_request", message: describe(errors), errors });
        return;
      }
      const rejected: { index: number; item_id?: unknown; status: "rejected"; errors: FieldError[] }[] = [];
      const writes: { index: number; write: ItemWrite }[] = [];
      shape.data.items.forEach((raw, index) => {
        const parsed = ItemBatchEntrySchema.safeParse(raw);
        if (parsed.success) writes.push({ index, write: parsed.data });
        else
          rejected.push({
            index,
            item_id: (raw as { item_id?: unknown } | null)?.item_id,
            status: "rejected",
            errors: toFieldErrors(parsed.error, raw, `items.${index}`),
          });
      });
      const { outcomes, head } = await writeItems(
        options.db,
        writes.map((w) => w.write),
        now(),
      );
      const results = [...outcomes.map((o, i) => ({ index: writes[i]!.index, ...o })), ...rejected].sort(
        (a, b) => a.index - b.index,
      );
      res.status(writes.length === 0 ? 400 : 200).json({
        position: head ? formatPositionToken(head) : null,
        results,
      });
    },
  );

  router.get("/v1/items/:itemId", requireScope(options.keys, "read"), async (req, res) => {
    const idError = checkId("itemId", String(req.params.itemId));
    if (idError) {
      res.status(400).json({ error: "invalid_request", message: describe([idError]), errors: [idError] });
      return;
    }
    const item = await readItem(options.db, String(req.params.itemId));
    if (!item) {
      res.status(404).json({ error: "not_found", message: `no item "${req.params.itemId}"` });
      return;
    }
    res.set("ETag", `"${item.version}"`).json(item);
  });

  return router;
}

/** A batch's audit entry: how many items were written, and which (the first hundred ids). */
const describeBatch: DescribeCommand = (_req, body) => {
  const results = (body as { results?: { item_id?: unknown; status?: unknown }[] } | null)?.results ?? [];
  const count = (status: string) => results.filter((r) => r.status === status).length;
  return {
    details: {
      items: results.length,
      created: count("created"),
      updated: count("updated"),
      conflicts: count("conflict"),
      rejected: count("rejected"),
      item_ids: results.slice(0, 100).map((r) => String(r.item_id)),
    },
  };
};

function describe(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.rule}`).join("; ");
}
