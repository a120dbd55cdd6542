import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { workerIndex } from "../core/runtime/worker-index.ts";
import { workersProblem } from "./workers.ts";

describe("workers", () => {
  it("lets stateless HTTP roles run in several processes", () => {
    assert.equal(workersProblem(["serving"], 2), undefined);
    assert.equal(workersProblem(["serving", "ingest"], 4), undefined);
  });

  it("runs any role set in one process", () => {
    assert.equal(workersProblem(["relay", "projectors", "analytics"], 1), undefined);
  });

  it("refuses to replicate roles that must run once, naming them", () => {
    assert.equal(
      workersProblem(["serving", "relay", "analytics"], 2),
      "--workers 2: only serving, ingest can run in several processes; run relay, analytics in another `reckon start --roles` process",
    );
  });

  it("refuses a count that is not a whole number ≥ 1, saying what it received", () => {
    assert.equal(workersProblem(["serving"], 0), '--workers: must be a whole number ≥ 1 (received "0")');
    assert.equal(workersProblem(["serving"], 1.5), '--workers: must be a whole number ≥ 1 (received "1.5")');
  });

  it("numbers workers from the environment the primary gives them, 0 otherwise", () => {
    assert.equal(workerIndex({ RECKON_WORKER_INDEX: "1" }), 1);
    assert.equal(workerIndex({}), 0);
  });
});
