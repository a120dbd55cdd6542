import { test } from "node:test";
import assert from "node:assert/strict";
import { loadEnv } from "../config/env.ts";
import { Quotas, quotaSettingsFromEnv, type QuotaSettings } from "./quotas.ts";

const settings: QuotaSettings = {
  requestsPerSecond: { read: 2, write: 1, admin: 0 },
  eventsPerSecond: 1000,
  authFailures: { limit: 3, windowSeconds: 60 },
};

function clocked() {
  let now = 0;
  return { quotas: new Quotas(settings, () => now), at: (ms: number) => void (now = ms) };
}

test("request quotas are per key and per scope; the refusal names the quota, its limit and when to retry", () => {
  const { quotas, at } = clocked();
  assert.equal(quotas.chargeRequest("key-a", "read"), undefined);
  assert.equal(quotas.chargeRequest("key-a", "read"), undefined);
  assert.equal(quotas.chargeRequest("key-b", "read"), undefined, "another key has its own bucket");
  assert.equal(quotas.chargeRequest("key-a", "write"), undefined, "another scope has its own bucket");
  at(100);
  assert.deepEqual(quotas.chargeRequest("key-a", "read"), {
    status: 429,
    body: {
      error: "rate_limited",
      message: "this API key may make 2 read requests per second; retry in 1 s",
      quota: "read_requests",
      limit: 2,
      window_seconds: 1,
      retry_after_seconds: 1,
    },
    headers: {
      "Retry-After": "1",
      "RateLimit-Policy": "2;w=1",
      "RateLimit-Limit": "2",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "1",
    },
  });
  at(500);
  assert.equal(quotas.chargeRequest("key-a", "read"), undefined, "half a second gives one read back");
  for (let i = 0; i < 100; i++)
    assert.equal(quotas.chargeRequest("key-a", "admin"), undefined, "0 is no limit");
});

test("events count one each: a batch takes as many as it holds", () => {
  const { quotas, at } = clocked();
  assert.equal(quotas.chargeEvents("w", 600), undefined);
  const refused = quotas.chargeEvents("w", 500);
  assert.deepEqual(refused?.body, {
    error: "rate_limited",
    message:
      "this API key may send 1000 events per second; this request carries 500 and 400 are left now; retry in 1 s",
    quota: "events",
    limit: 1000,
    window_seconds: 1,
    retry_after_seconds: 1,
  });
  assert.equal(refused?.headers["RateLimit-Remaining"], "400");
  assert.equal(quotas.chargeEvents("w", 400), undefined, "the refused batch took nothing");
  at(499);
  assert.equal(quotas.chargeEvents("w", 500)?.status, 429);
  at(500);
  assert.equal(quotas.chargeEvents("w", 500), undefined);
});

test("a batch larger than the whole events quota is told to split, with no Retry-After", () => {
  const { quotas } = clocked();
  const refused = quotas.chargeEvents("w", 1001);
  assert.equal(refused?.body.retry_after_seconds, null);
  assert.equal(
    refused?.body.message,
    "this request carries 1001 events, more than this API key's whole quota of 1000 events per second; split the batch",
  );
  assert.equal(refused?.headers["Retry-After"], undefined);
});

test("a source is blocked after its limit of wrong keys, until the window gives one back", () => {
  const { quotas, at } = clocked();
  for (let i = 0; i < 3; i++) {
    assert.equal(quotas.authBlocked("198.51.100.9"), undefined, `attempt ${i + 1}`);
    quotas.recordAuthFailure("198.51.100.9");
  }
  assert.deepEqual(quotas.authBlocked("198.51.100.9"), {
    status: 429,
    body: {
      error: "rate_limited",
      message: "too many wrong API keys from this address (at most 3 per 60 s); retry in 20 s",
      quota: "auth_failures",
      limit: 3,
      window_seconds: 60,
      retry_after_seconds: 20,
    },
    headers: {
      "Retry-After": "20",
      "RateLimit-Policy": "3;w=60",
      "RateLimit-Limit": "3",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "60",
    },
  });
  assert.equal(quotas.authBlocked("198.51.100.10"), undefined, "another source is not blocked");
  at(19_999);
  assert.equal(quotas.authBlocked("198.51.100.9")?.body.retry_after_seconds, 1);
  at(20_000);
  assert.equal(quotas.authBlocked("198.51.100.9"), undefined);
});

test("the environment's defaults: generous per-key rates, 30 wrong keys a minute per source", () => {
  const env = loadEnv({ DATABASE_URL: "postgres://u:p@127.0.0.1/db", KAFKA_BROKERS: "127.0.0.1:9092" });
  assert.deepEqual(quotaSettingsFromEnv(env), {
    requestsPerSecond: { read: 10_000, write: 5_000, admin: 200 },
    eventsPerSecond: 50_000,
    authFailures: { limit: 30, windowSeconds: 60 },
  });
  const custom = loadEnv({
    DATABASE_URL: "postgres://u:p@127.0.0.1/db",
    KAFKA_BROKERS: "127.0.0.1:9092",
    RECKON_READ_REQUESTS_PER_SECOND: "0",
    RECKON_EVENTS_PER_SECOND: "2000",
    RECKON_AUTH_FAILURE_LIMIT: "5",
    RECKON_AUTH_FAILURE_WINDOW_SECONDS: "600",
  });
  assert.deepEqual(quotaSettingsFromEnv(custom), {
    requestsPerSecond: { read: 0, write: 5_000, admin: 200 },
    eventsPerSecond: 2000,
    authFailures: { limit: 5, windowSeconds: 600 },
  });
  assert.throws(
    () =>
      loadEnv({
        DATABASE_URL: "postgres://u:p@127.0.0.1/db",
        KAFKA_BROKERS: "b:1",
        RECKON_EVENTS_PER_SECOND: "500",
      }),
    /RECKON_EVENTS_PER_SECOND: must be 0 \(no limit\) or at least 1000 \(the largest batch\) \(received "500"\)/,
  );
});
