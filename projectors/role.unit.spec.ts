import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../core/config/env.ts";
import { selectProjections, type ProjectionFactory } from "./role.ts";

const features: ProjectionFactory = () => ({ name: "features" }) as never;
const analytics: ProjectionFactory = () => ({ name: "analytics" }) as never;
const factories = { features, analytics };

describe("RECKON_PROJECTIONS (selectProjections)", () => {
  it("runs every projection when unset", () => {
    assert.deepEqual(selectProjections(factories, undefined), [features, analytics]);
  });

  it("runs the named ones, in the order given, each once", () => {
    assert.deepEqual(selectProjections(factories, ["analytics"]), [analytics]);
    assert.deepEqual(selectProjections(factories, ["analytics", "features", "analytics"]), [
      analytics,
      features,
    ]);
  });

  it("refuses an unknown name, naming the variable, the known names and what it received", () => {
    assert.throws(
      () => selectProjections(factories, ["features", "feature"]),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        err.problems[0] ===
          'RECKON_PROJECTIONS: each name must be one of features, analytics (received "feature")',
    );
  });
});
