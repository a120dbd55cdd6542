import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";

export type Scope = "read" | "write" | "admin";

export interface ApiKeyConfig {
  read: readonly string[];
  write: readonly string[];
  admin: readonly string[];
}

export interface Caller {
  /** A short, stable, non-secret id of the key, for audit logs. */
  keyId: string;
  scopes: ReadonlySet<Scope>;
}

declare module "express-serve-static-core" {
  interface Request {
    caller?: Caller;
  }
}

/** Admin keys may do everything; read and write keys only their own scope. */
function scopesOf(kind: Scope): Scope[] {
  return kind === "admin" ? ["admin", "write", "read"] : [kind];
}

export function keyId(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 12);
}

export class ApiKeys {
  private readonly byDigest = new Map<string, Caller>();

  constructor(config: ApiKeyConfig) {
    for (const kind of ["read", "write", "admin"] as const) {
      for (const key of config[kind]) {
        const digest = createHash("sha256").update(key).digest("hex");
        const existing = this.byDigest.get(digest);
        const scopes = new Set<Scope>([...(existing?.scopes ?? []), ...scopesOf(kind)]);
        this.byDigest.set(digest, { keyId: keyId(key), scopes });
      }
    }
  }

  /** Looks a presented key up by its digest (constant-time compare of equal-length digests). */
  identify(presented: string): Caller | undefined {
    const digest = createHash("sha256").update(presented).digest("hex");
    for (const [known, caller] of this.byDigest) {
      if (timingSafeEqual(Buffer.from(known), Buffer.from(digest))) return caller;
    }
    return undefined;
  }
}

/** The answer to a request that may not proceed: 401 without a valid key, 403 when the key lacks the scope. */
export interface AuthRefusal {
  status: 401 | 403;
  body: { error: string; message: string; required_scope: Scope };
}

/**
 * Checks an `Authorization` header for `scope`: the caller, or the refusal to send. Shared by the express
 * middleware and serving's node:http fast path, so both answer identically.
 */
export function authorize(
  keys: ApiKeys,
  header: string | undefined,
  scope: Scope,
): { caller: Caller } | { refusal: AuthRefusal } {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  if (!match)
    return {
      refusal: {
        status: 401,
        body: {
          error: "unauthorized",
          message: `this endpoint needs an API key with the "${scope}" scope in "Authorization: Bearer <key>"`,
          required_scope: scope,
        },
      },
    };
  const caller = keys.identify(match[1]!);
  if (!caller)
    return {
      refusal: {
        status: 401,
        body: { error: "unauthorized", message: "unknown API key", required_scope: scope },
      },
    };
  if (!caller.scopes.has(scope))
    return {
      refusal: {
        status: 403,
        body: {
          error: "forbidden",
          message: `this endpoint needs a key with the "${scope}" scope; this key has: ${[...caller.scopes].join(", ")}`,
          required_scope: scope,
        },
      },
    };
  return { caller };
}

/** Express middleware: 401 without a valid key, 403 when the key lacks `scope`. */
export function requireScope(keys: ApiKeys, scope: Scope): RequestHandler {
  return (req, res, next) => {
    const outcome = authorize(keys, req.get("authorization"), scope);
    if ("refusal" in outcome) {
      res.status(outcome.refusal.status).json(outcome.refusal.body);
      return;
    }
    req.caller = outcome.caller;
    next();
  };
}
