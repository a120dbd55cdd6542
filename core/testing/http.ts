import type { Router } from "express";
import { createHttpApp, listen } from "../http/app.ts";

export const TEST_KEYS = {
  read: "test-read-key-0123456789",
  write: "test-write-key-0123456789",
  admin: "test-admin-key-0123456789",
} as const;

/** Serves routers on a free loopback port; `call` sends JSON with a key of the given scope. */
export async function serveForTest(routers: Router[]) {
  const server = await listen(createHttpApp({ routers, readiness: [] }), 0, "127.0.0.1");
  const base = `http://127.0.0.1:${server.port}`;
  async function call(
    method: string,
    path: string,
    options: {
      scope?: keyof typeof TEST_KEYS | "none";
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
    } = {},
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on response fields directly
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
    const scope = options.scope ?? "admin";
    if (scope !== "none") headers.authorization = `Bearer ${TEST_KEYS[scope]}`;
    const res = await fetch(base + path, {
      method,
      headers,
      body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  }
  return { base, call, close: server.close, server: server.server };
}
