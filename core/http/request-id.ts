import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import { logger, type Logger } from "../logger.ts";

declare module "express-serve-static-core" {
  interface Request {
    /** The request's id: the caller's well-formed `X-Request-Id`, or one generated here. */
    requestId?: string;
  }
}

export const REQUEST_ID_HEADER = "X-Request-Id";

/**
 * A caller's id is kept when it is 1-128 visible ASCII characters without spaces (a UUID, a W3C trace id, a
 * load balancer's id): anything else could break log lines or smuggle text into them, so it is replaced.
 */
const WELL_FORMED = /^[\x21-\x7e]{1,128}$/;

/** The id to use for a request that came with `presented` (the header's value, if any). */
export function chooseRequestId(presented: string | undefined): string {
  return presented !== undefined && WELL_FORMED.test(presented) ? presented : randomUUID();
}

/**
 * Gives every request an id before any router runs: kept from `X-Request-Id` when well formed, generated
 * otherwise, echoed in the response's `X-Request-Id`, and on `req.requestId` for audit entries and log lines.
 */
export const requestIdMiddleware: RequestHandler = (req, res, next) => {
  const id = chooseRequestId(req.get(REQUEST_ID_HEADER));
  req.requestId = id;
  res.set(REQUEST_ID_HEADER, id);
  next();
};

/** A logger whose lines carry the request's id (use it for anything logged while serving a request). */
export function requestLogger(req: { requestId?: string | undefined }): Logger {
  return req.requestId === undefined ? logger : logger.child({ requestId: req.requestId });
}
