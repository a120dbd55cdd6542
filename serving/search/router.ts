import { Router, type Response } from "express";
import type { ApiKeys } from "../../core/http/auth.ts";
import { requireScope } from "../../core/http/auth.ts";
import { answerItemDetail, answerSearch, type JsonAnswer, type SearchDeps } from "./answer.ts";

function send(res: Response, answer: JsonAnswer): void {
  if (answer.headers) for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.status(answer.status).json(answer.body);
}

/** GET /v1/search and GET /v1/items/:itemId/detail (read scope). */
export function searchRouter(deps: SearchDeps & { keys: ApiKeys }): Router {
  const router = Router();
  const read = requireScope(deps.keys, "read");
  router.get("/v1/search", read, async (req, res) => {
    send(res, await answerSearch(deps, req.query as Record<string, unknown>));
  });
  router.get("/v1/items/:itemId/detail", read, async (req, res) => {
    send(
      res,
      await answerItemDetail(deps, req.params.itemId as string, req.query as Record<string, unknown>),
    );
  });
  return router;
}
