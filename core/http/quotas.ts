import type { Env } from "../config/env.ts";
import { Gcra, type RateLimit, type Take } from "./gcra.ts";

type Scope = "read" | "write" | "admin";

/** Limits per API key and per source address. A limit of 0 is no limit. */
export interface QuotaSettings {
  /** Requests per second per key, by the scope the route requires (an admin key reading uses its read quota). */
  requestsPerSecond: Record<Scope, number>;
  /** Events per second per key on POST /v1/events: a batch of 500 costs 500. */
  eventsPerSecond: number;
  /** Wrong API keys a source address may present per window before it is refused before key comparison. */
  authFailures: { limit: number; windowSeconds: number };
}

export const UNLIMITED: QuotaSettings = {
  requestsPerSecond: { read: 0, write: 0, admin: 0 },
  eventsPerSecond: 0,
  authFailures: { limit: 0, windowSeconds: 60 },
};

export function quotaSettingsFromEnv(env: Env): QuotaSettings {
  return {
    requestsPerSecond: {
      read: env.RECKON_READ_REQUESTS_PER_SECOND,
      write: env.RECKON_WRITE_REQUESTS_PER_SECOND,
      admin: env.RECKON_ADMIN_REQUESTS_PER_SECOND,
    },
    eventsPerSecond: env.RECKON_EVENTS_PER_SECOND,
    authFailures: {
      limit: env.RECKON_AUTH_FAILURE_LIMIT,
      windowSeconds: env.RECKON_AUTH_FAILURE_WINDOW_SECONDS,
    },
  };
}

export type QuotaName = "read_requests" | "write_requests" | "admin_requests" | "events" | "auth_failures";

/** A 429: the body names the quota, its limit and when to retry; headers carry Retry-After and RateLimit-*. */
export interface QuotaRefusal {
  status: 429;
  body: {
    error: "rate_limited";
    message: string;
    quota: QuotaName;
    limit: number;
    window_seconds: number;
    /** Null when waiting cannot help (a batch larger than the whole quota). */
    retry_after_seconds: number | null;
  };
  headers: Record<string, string>;
}

/**
 * Per-process rate limits (GCRA buckets in memory, one number per key): N processes behind a port (workers or
 * replicas) each allow the configured rate, so a key gets up to N times it in total. No store round trip, so
 * the check fits the serving hot path.
 */
export class Quotas {
  private readonly requests: Partial<Record<Scope, Gcra>> = {};
  private readonly events?: Gcra;
  private readonly authFailures?: Gcra;

  constructor(
    readonly settings: QuotaSettings,
    /** Milliseconds on a monotonic clock (tests pass their own). */
    private readonly now: () => number = () => performance.now(),
  ) {
    for (const scope of ["read", "write", "admin"] as const) {
      const limit = settings.requestsPerSecond[scope];
      if (limit > 0) this.requests[scope] = new Gcra({ limit, windowMs: 1000 });
    }
    if (settings.eventsPerSecond > 0)
      this.events = new Gcra({ limit: settings.eventsPerSecond, windowMs: 1000 });
    const { limit, windowSeconds } = settings.authFailures;
    if (limit > 0) this.authFailures = new Gcra({ limit, windowMs: windowSeconds * 1000 });
  }

  /** One request by `keyId` to a route needing `scope`: undefined when within quota (and counted). */
  chargeRequest(keyId: string, scope: Scope): QuotaRefusal | undefined {
    const bucket = this.requests[scope];
    if (!bucket) return undefined;
    const taken = bucket.take(keyId, this.now());
    if (taken.allowed) return undefined;
    return refusal(
      `${scope}_requests`,
      bucket.rate,
      taken,
      (retry) => `this API key may make ${bucket.rate.limit} ${scope} requests per second; retry in ${retry}`,
    );
  }

  /** `count` events sent by `keyId`: undefined when within quota (and counted). */
  chargeEvents(keyId: string, count: number): QuotaRefusal | undefined {
    const bucket = this.events;
    if (!bucket) return undefined;
    const taken = bucket.take(keyId, this.now(), count);
    if (taken.allowed) return undefined;
    return refusal("events", bucket.rate, taken, (retry) =>
      taken.retryAfterMs === Infinity
        ? `this request carries ${count} events, more than this API key's whole quota of ${bucket.rate.limit} events per second; split the batch`
        : `this API key may send ${bucket.rate.limit} events per second; this request carries ${count} and ${taken.remaining} are left now; retry in ${retry}`,
    );
  }

  /** A 429 when `source` used up its wrong-key attempts: checked before any key comparison. */
  authBlocked(source: string): QuotaRefusal | undefined {
    const bucket = this.authFailures;
    if (!bucket) return undefined;
    const peeked = bucket.peek(source, this.now());
    if (peeked.allowed) return undefined;
    return refusal(
      "auth_failures",
      bucket.rate,
      peeked,
      (retry) =>
        `too many wrong API keys from this address (at most ${bucket.rate.limit} per ${bucket.rate.windowMs / 1000} s); retry in ${retry}`,
    );
  }

  /** Counts a wrong API key presented by `source`. */
  recordAuthFailure(source: string): void {
    this.authFailures?.take(source, this.now());
  }
}

function refusal(
  quota: QuotaName,
  rate: RateLimit,
  taken: Take,
  message: (retry: string) => string,
): QuotaRefusal {
  if (taken.allowed) throw new Error("refusal() needs a refused take");
  const windowSeconds = rate.windowMs / 1000;
  const retryAfter = Number.isFinite(taken.retryAfterMs) ? Math.ceil(taken.retryAfterMs / 1000) : null;
  const headers: Record<string, string> = {
    // RateLimit-* as in the IETF draft (draft-ietf-httpapi-ratelimit-headers-06), which most clients read.
    "RateLimit-Policy": `${rate.limit};w=${windowSeconds}`,
    "RateLimit-Limit": String(rate.limit),
    "RateLimit-Remaining": String(taken.remaining),
    "RateLimit-Reset": String(Math.ceil(taken.resetMs / 1000)),
  };
  if (retryAfter !== null) headers["Retry-After"] = String(retryAfter);
  return {
    status: 429,
    body: {
      error: "rate_limited",
      message: message(retryAfter === null ? "" : `${retryAfter} s`),
      quota,
      limit: rate.limit,
      window_seconds: windowSeconds,
      retry_after_seconds: retryAfter,
    },
    headers,
  };
}
