import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiKeys, authorize } from "./auth.ts";
import { Quotas, UNLIMITED } from "./quotas.ts";

const KEYS = { read: ["read-key-0123456789"], write: ["write-key-0123456789"], admin: [] };
const bearer = (key: string) => `Bearer ${key}`;

function keysWithQuotas() {
  let now = 0;
  const quotas = new Quotas(
    {
      ...UNLIMITED,
      requestsPerSecond: { read: 2, write: 0, admin: 0 },
      authFailures: { limit: 2, windowSeconds: 10 },
    },
    () => now,
  );
  return { keys: new ApiKeys(KEYS, quotas), at: (ms: number) => void (now = ms) };
}

const statusOf = (outcome: ReturnType<typeof authorize>) =>
  "refusal" in outcome ? outcome.refusal.status : 200;

test("after the limit of wrong keys, the source gets 429 even with the right key: before any key comparison", () => {
  const { keys, at } = keysWithQuotas();
  const attempt = (header: string | undefined, source = "192.0.2.1") =>
    authorize(keys, header, "read", source);
  assert.equal(statusOf(attempt(bearer("wrong-key-0000000000"))), 401);
  assert.equal(statusOf(attempt(bearer("wrong-key-0000000001"))), 401);
  const blocked = attempt(bearer(KEYS.read[0]!));
  assert.ok("refusal" in blocked && blocked.refusal.status === 429);
  assert.equal(blocked.refusal.body.error, "rate_limited");
  assert.equal(blocked.refusal.headers?.["Retry-After"], "5");
  assert.equal(statusOf(attempt(bearer(KEYS.read[0]!), "192.0.2.2")), 200, "other sources are served");
  at(5000);
  assert.equal(statusOf(attempt(bearer(KEYS.read[0]!))), 200, "one failure is forgiven every 5 s");
});

test("a missing or malformed header and a key without the scope do not count as failed authentications", () => {
  const { keys } = keysWithQuotas();
  const source = "192.0.2.1";
  for (let i = 0; i < 5; i++) {
    assert.equal(statusOf(authorize(keys, undefined, "read", source)), 401);
    assert.equal(statusOf(authorize(keys, "Basic dXNlcjpwYXNz", "read", source)), 401);
    assert.equal(statusOf(authorize(keys, bearer(KEYS.read[0]!), "write", source)), 403);
  }
  assert.equal(statusOf(authorize(keys, bearer(KEYS.read[0]!), "read", source)), 200);
});

test("the request quota is charged after the scope check, so a 403 costs nothing", () => {
  const { keys, at } = keysWithQuotas();
  const read = () => authorize(keys, bearer(KEYS.read[0]!), "read", "192.0.2.1");
  assert.equal(statusOf(authorize(keys, bearer(KEYS.read[0]!), "write", "192.0.2.1")), 403);
  assert.equal(statusOf(read()), 200);
  assert.equal(statusOf(read()), 200);
  const refused = read();
  assert.ok("refusal" in refused && refused.refusal.status === 429);
  assert.equal(
    refused.refusal.body.message,
    "this API key may make 2 read requests per second; retry in 1 s",
  );
  at(500);
  assert.equal(statusOf(read()), 200);
});

test("keys without quotas are never limited", () => {
  const keys = new ApiKeys(KEYS);
  for (let i = 0; i < 50; i++)
    assert.equal(statusOf(authorize(keys, bearer("wrong-key-0000000000"), "read", "192.0.2.1")), 401);
  assert.equal(statusOf(authorize(keys, bearer(KEYS.read[0]!), "read", "192.0.2.1")), 200);
});
