import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { Router } from "express";
import { serveForTest } from "../testing/http.ts";

/** A path that exists answers a method it has no route for 405 with Allow (RFC 9110 §15.5.6), not 404. */
let api: Awaited<ReturnType<typeof serveForTest>>;

before(async () => {
  const router = Router();
  router.get("/v1/things/:id", (_req, res) => void res.json({ ok: true }));
  router.put("/v1/things/:id", (_req, res) => void res.json({ ok: true }));
  const other = Router();
  other.post("/v1/things/:id/archive", (_req, res) => void res.json({ ok: true }));
  api = await serveForTest([router, other]);
});
after(() => api.close());

/** node:http, since fetch refuses methods such as TRACE. */
function send(method: string, path: string) {
  return new Promise<{ status: number; allow: string | undefined; body: string }>((resolve, reject) => {
    const req = request(`${api.base}${path}`, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, allow: res.headers.allow as string | undefined, body }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

test("an unsupported method on an existing path is 405 with the methods its routes answer", async () => {
  for (const method of ["DELETE", "TRACE", "PATCH", "POST"]) {
    const res = await send(method, "/v1/things/x");
    assert.equal(res.status, 405, method);
    assert.equal(res.allow, "GET, HEAD, PUT", method);
    assert.deepEqual(JSON.parse(res.body), {
      error: "method_not_allowed",
      message: `${method} is not allowed on /v1/things/x; allowed: GET, HEAD, PUT`,
    });
  }
  const archive = await send("GET", "/v1/things/x/archive");
  assert.equal(archive.status, 405);
  assert.equal(archive.allow, "POST");
  const health = await send("POST", "/healthz");
  assert.equal(health.status, 405, "the app's own routes count too");
  assert.equal(health.allow, "GET, HEAD");
});

test("a path no route has is still 404, and supported methods are answered as before", async () => {
  const missing = await send("GET", "/v1/nothing");
  assert.equal(missing.status, 404);
  assert.equal(missing.allow, undefined);
  assert.equal((await send("GET", "/v1/things/x")).status, 200);
  assert.equal((await send("PUT", "/v1/things/x")).status, 200);
});
