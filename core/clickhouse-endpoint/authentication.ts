import { createHash, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import { EndpointFailure } from "./endpoint-failure.ts";

/** The one user the endpoint accepts. */
export interface EndpointCredentials {
  user: string;
  password: string;
}

/**
 * Checks the credentials the way ClickHouse clients send them: HTTP basic auth, the
 * X-ClickHouse-User/X-ClickHouse-Key headers, or `user`/`password` URL parameters.
 * Both sides are hashed before the constant-time comparison so their lengths leak nothing either.
 */
export function authenticate(req: http.IncomingMessage, url: URL, expected: EndpointCredentials): void {
  const offered = offeredCredentials(req, url);
  const userMatches = sameSecret(offered.user ?? "default", expected.user);
  const passwordMatches = sameSecret(offered.password ?? "", expected.password);
  if (!userMatches || !passwordMatches) {
    throw new EndpointFailure(
      `${offered.user ?? "default"}: Authentication failed: password is incorrect, or there is no user with such name`,
      516,
      "AUTHENTICATION_FAILED",
    );
  }
}

function offeredCredentials(req: http.IncomingMessage, url: URL): { user?: string; password?: string } {
  const authorization = headerValue(req, "authorization");
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon === -1
      ? { user: decoded, password: "" }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return {
    user: headerValue(req, "x-clickhouse-user") ?? url.searchParams.get("user") ?? undefined,
    password: headerValue(req, "x-clickhouse-key") ?? url.searchParams.get("password") ?? undefined,
  };
}

function sameSecret(offered: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(offered), digest(expected));
}

/**
 * Browsers send an Origin header; ClickHouse clients and SQL tools do not. A request from a web page whose
 * origin is not listed is refused before anything runs, and no CORS header is ever sent, so a page cannot
 * make a visitor's browser query the endpoint.
 */
export function checkOrigin(req: http.IncomingMessage, allowedOrigins: readonly string[]): void {
  const origin = headerValue(req, "origin");
  if (origin === undefined || allowedOrigins.includes(origin)) return;
  throw new EndpointFailure(
    `requests from origin '${origin}' are not allowed (allowed: ${allowedOrigins.length === 0 ? "none" : allowedOrigins.join(", ")})`,
    497,
    "ACCESS_DENIED",
  );
}

export function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
