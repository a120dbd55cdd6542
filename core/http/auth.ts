import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler, Response } from "express";
import type { QuotaRefusal, Quotas } from "./quotas.ts";
import { sourceAddress } from "./source-address.ts";

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

/** The configured keys, and the quotas they and the addresses presenting them may spend (none when absent). */
export class ApiKeys {
  private readonly byDigest = new Map<string, Caller>();

  constructor(
    config: ApiKeyConfig,
    readonly quotas?: Quotas,
  ) {
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

/**
 * The answer to a request that may not proceed: 401 without a valid key, 403 when the key lacks the scope, 429
 * when the source sent too many wrong keys or the key is over its request quota.
 */
export type AuthRefusal =
  | {
      status: 401 | 403;
      body: { error: string; message: string; required_scope: Scope };
      headers?: undefined;
    }
  | QuotaRefusal;

/**
 * Checks an `Authorization` header for `scope`: the caller, or the refusal to send. Shared by the express
 * middleware and serving's node:http fast path, so both answer identically. `remoteAddress` is the peer's
 * address: a source over its wrong-key limit is refused before any key comparison.
 */
export function authorize(
  keys: ApiKeys,
  header: string | undefined,
  scope: Scope,
  remoteAddress: string | undefined,
): { caller: Caller } | { refusal: AuthRefusal } {
  const quotas = keys.quotas;
  const source = quotas ? sourceAddress(remoteAddress) : "";
  const blocked = quotas?.authBlocked(source);
  if (blocked) return { refusal: blocked };
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
  if (!caller) {
    // Only a presented wrong key counts: a missing header is a client bug, not a guess.
    quotas?.recordAuthFailure(source);
    return {
      refusal: {
        status: 401,
        body: { error: "unauthorized", message: "unknown API key", required_scope: scope },
      },
    };
  }
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
  const overQuota = quotas?.chargeRequest(caller.keyId, scope);
  if (overQuota) return { refusal: overQuota };
  return { caller };
}

/** Express middleware: 401 without a valid key, 403 when the key lacks `scope`, 429 over a quota. */
export function requireScope(keys: ApiKeys, scope: Scope): RequestHandler {
  return (req, res, next) => {
    const outcome = authorize(keys, req.get("authorization"), scope, req.socket.remoteAddress);
    if ("refusal" in outcome) {
      sendRefusal(res, outcome.refusal);
      return;
    }
    req.caller = outcome.caller;
    next();
  };
}

/** Sends an auth or quota refusal with its headers (Retry-After, RateLimit-*). */
export function sendRefusal(res: Response, refusal: AuthRefusal): void {
  if (refusal.headers) res.set(refusal.headers);
  res.status(refusal.status).json(refusal.body);
}
