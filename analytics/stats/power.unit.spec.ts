// Expected numbers printed by Python's statistics.NormalDist (its own Φ and Φ⁻¹, not this code's):
//   z = inv_cdf(0.975), k = z + inv_cdf(0.8), c = v = k²·0.09/10000, a = 0.1² − c,
//   mde = (c + √(c² + a(c + v)))/a, se(Δ) = √(σ²/(μ²n_v) + σ²(1+Δ)²/(μ²n_c)),
//   power = cdf(Δ/se − z) + cdf(−Δ/se − z), N = k²σ²(1/0.5 + (1+Δ)²/0.5)/(Δ²μ²).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { minimumDetectableEffect, powerAt, relativeLiftStandardError, usersNeeded } from "./power.ts";
import { assertClose } from "./testing/assert-close.ts";

// A 10 % conversion rate (Bernoulli variance 0.09) with 10,000 users per arm.
const inputs = { mean: 0.1, variance: 0.09, controlUsers: 10000, variantUsers: 10000 };

describe("power and minimum detectable effect", () => {
  it("MDE at 80 % power, α = 0.05 two-sided", () => {
    assertClose(minimumDetectableEffect(inputs), 0.12660945998957338, "mde");
  });

  it("the MDE has 80 % power on its own tail, a hair more with both", () => {
    const mde = minimumDetectableEffect(inputs);
    assertClose(powerAt({ ...inputs, sides: 2 }, mde), 0.8000009605622266, "two-sided power");
    // One tail alone: exactly the target, by construction of the root.
    const z = 1.9599639845400536;
    assertClose(
      powerAt({ ...inputs, sides: 1, alpha: 0.025 }, mde),
      0.8,
      "power with the whole α/2 on one side",
    );
    assertClose(mde / relativeLiftStandardError(inputs, mde), z + 0.8416212335729144, "Δ/se = k");
  });

  it("power of a 5 % lift with these users", () => {
    assertClose(powerAt(inputs, 0.05), 0.2097526895312274, "power");
  });

  it("users needed for a 5 % lift, half the traffic in each arm", () => {
    assertClose(
      usersNeeded({ mean: 0.1, variance: 0.09 }, 0.05, { controlShare: 0.5, variantShare: 0.5 }),
      118816.34141857641,
      "users",
    );
  });

  it("no detectable lift when the control arm is too small for the noise", () => {
    assert.equal(
      minimumDetectableEffect({ mean: 0.1, variance: 0.09, controlUsers: 50, variantUsers: 50 }),
      Infinity,
    );
  });
});
