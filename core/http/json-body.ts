import { isUtf8 } from "node:buffer";
import express, { type RequestHandler } from "express";

/**
 * JSON request bodies: parsed once for every route, refused with a 400 naming the body when they are not
 * UTF-8 or nest deeper than any contract needs (deep nesting would otherwise exhaust the stack in code
 * that walks the value), and required to be a JSON object where a route writes from it.
 */

/** Deeper than any contract allows (event properties nest at most 4 levels); far below the stack's limit. */
export const MAX_JSON_DEPTH = 64;

const rawBodyBytes = Symbol("rawBodyBytes");
type WithRawBodyBytes = { [rawBodyBytes]?: number };

export class JsonBodyError extends Error {
  readonly status = 400;
  constructor(
    readonly type: "body.invalid_utf8" | "body.too_deep",
    readonly rule: string,
    readonly received: string,
  ) {
    super(`(body) ${rule}`);
  }
}

export function jsonBodyParser(limit: string): RequestHandler {
  return express.json({
    limit,
    strict: false,
    verify: (req, _res, buf, encoding) => {
      (req as WithRawBodyBytes)[rawBodyBytes] = buf.length;
      if (/^utf-?8$/i.test(encoding) && !isUtf8(buf)) {
        throw new JsonBodyError("body.invalid_utf8", "must be valid UTF-8", "bytes that are not UTF-8");
      }
      const depth = nestingDepth(buf, MAX_JSON_DEPTH);
      if (depth > MAX_JSON_DEPTH) {
        throw new JsonBodyError(
          "body.too_deep",
          `must nest at most ${MAX_JSON_DEPTH} levels of objects and arrays`,
          `more than ${MAX_JSON_DEPTH} levels`,
        );
      }
    },
  });
}

/** The deepest nesting of `[`/`{` outside strings, counting up to one past `limit`. */
export function nestingDepth(json: Uint8Array, limit: number): number {
  if (json.length <= limit) return 0;
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i]!;
    if (inString) {
      if (byte === 0x5c) i++;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/**
 * For routes that write from their body: it must be a JSON object sent as JSON. Without this, a body express
 * did not parse (text/plain, empty) reads as "no fields" and a PUT would reset the resource to defaults.
 */
export const requireJsonObjectBody: RequestHandler = (req, res, next) => {
  const contentType = req.get("content-type");
  if (!req.is("application/json")) {
    res.status(415).json({
      error: "unsupported_media_type",
      message: "(body): must be a JSON object sent with Content-Type: application/json",
      errors: [
        {
          field: "(body)",
          rule: "must be a JSON object sent with Content-Type: application/json",
          received: contentType ?? "no Content-Type",
        },
      ],
    });
    return;
  }
  const body: unknown = req.body;
  const empty = ((req as WithRawBodyBytes)[rawBodyBytes] ?? 0) === 0;
  if (empty || body === null || typeof body !== "object" || Array.isArray(body)) {
    res.status(400).json({
      error: "invalid_request",
      message: "(body): must be a JSON object",
      errors: [
        {
          field: "(body)",
          rule: "must be a JSON object",
          received: empty ? "an empty body" : body === null ? null : Array.isArray(body) ? "an array" : body,
        },
      ],
    });
    return;
  }
  next();
};
