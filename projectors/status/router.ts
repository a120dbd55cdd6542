import { Router } from "express";
import type { ApiKeys } from "../../core/http/auth.ts";
import { requireScope } from "../../core/http/auth.ts";
import type { ProjectionStatus } from "./status.ts";

/** `GET /v1/status` (read scope): the log head and each projector's position and lag. */
export function statusRouter(status: ProjectionStatus, keys: ApiKeys): Router {
  const router = Router();
  router.get("/v1/status", requireScope(keys, "read"), async (_req, res) => {
    res.json(await status.status());
  });
  return router;
}
