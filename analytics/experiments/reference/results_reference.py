"""Prints the expected numbers of analytics/experiments/results.unit.spec.ts, computed with gbstats 0.8.0
(its relative CUPED variance brought up to GrowthBook's current one) and statsmodels (independent of the TypeScript code). Not needed to run the tests. Reproduce with:
  python3 -m venv /tmp/gbvenv && /tmp/gbvenv/bin/pip install gbstats==0.8.0 statsmodels
  /tmp/gbvenv/bin/python analytics/experiments/reference/results_reference.py
"""

import json
import os

import numpy as np
from scipy import stats as ss
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "stats", "reference"))
import growthbook_relative_cuped  # noqa: E402,F401  (patches gbstats' relative CUPED variance)

from statsmodels.stats.multitest import multipletests

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    OneSidedTreatmentGreaterTTest,
    OneSidedTreatmentLesserTTest,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm


def fx(res):
    return {"estimate": float(res.expected), "ci": [float(c) for c in res.ci], "p": float(res.p_value)}


def compare(a, b, inverse=False, sequential=False):
    out = {
        "absolute": fx(TwoSidedTTest(a, b, FrequentistConfig(difference_type="absolute")).compute_result()),
        "relative": fx(TwoSidedTTest(a, b, FrequentistConfig(difference_type="relative")).compute_result()),
    }
    if sequential:
        out["seq_relative"] = fx(
            SequentialTwoSidedTTest(a, b, SequentialConfig(difference_type="relative")).compute_result()
        )
    bres = EffectBayesianABTest(a, b, EffectBayesianConfig(difference_type="relative", inverse=inverse)).compute_result()
    out["bayes"] = {"ctw": float(bres.chance_to_win), "risk": [float(x) for x in bres.risk]}
    return out


# Fixture 1: three arms 50/25/25, Holm. conversion + mean + guardrail (decrease).
users = {"control": 1000, "b": 520, "c": 480}
conv = {k: ProportionStatistic(n=users[k], sum=s) for k, s in {"control": 100, "b": 70, "c": 50}.items()}
rev = {
    "control": SampleMeanStatistic(n=1000, sum=5000, sum_squares=90000),
    "b": SampleMeanStatistic(n=520, sum=2800, sum_squares=52000),
    "c": SampleMeanStatistic(n=480, sum=2300, sum_squares=41000),
}
lat = {
    "control": SampleMeanStatistic(n=1000, sum=200000, sum_squares=42000000),
    "b": SampleMeanStatistic(n=520, sum=109000, sum_squares=23400000),
    "c": SampleMeanStatistic(n=480, sum=96500, sum_squares=19700000),
}
f1 = {"srm_p": float(check_srm([1000, 520, 480], [0.5, 0.25, 0.25]))}
for name, stats, inv in [("conv", conv, False), ("rev", rev, False), ("lat", lat, True)]:
    for v in ["b", "c"]:
        f1[f"{name}/{v}"] = compare(stats["control"], stats[v], inverse=inv)
family = [f1[f"{m}/{v}"]["relative"]["p"] for m in ["conv", "rev"] for v in ["b", "c"]]
f1["holm"] = list(multipletests(family, method="holm")[1])

# Fixture 2: two arms 50/50, sequential, BH; CUPED mean metric and a ratio metric; an SRM split.
cup = {
    "control": RegressionAdjustedStatistic(
        n=3000,
        post_statistic=SampleMeanStatistic(n=3000, sum=30000, sum_squares=360000),
        pre_statistic=SampleMeanStatistic(n=3000, sum=27000, sum_squares=280000),
        post_pre_sum_of_products=300000,
        theta=0,
    ),
    "b": RegressionAdjustedStatistic(
        n=3300,
        post_statistic=SampleMeanStatistic(n=3300, sum=34320, sum_squares=415000),
        pre_statistic=SampleMeanStatistic(n=3300, sum=29700, sum_squares=308000),
        post_pre_sum_of_products=337000,
        theta=0,
    ),
}
ratio = {
    "control": RatioStatistic(
        n=3000,
        m_statistic=SampleMeanStatistic(n=3000, sum=6000, sum_squares=20000),
        d_statistic=SampleMeanStatistic(n=3000, sum=15000, sum_squares=90000),
        m_d_sum_of_products=38000,
    ),
    "b": RatioStatistic(
        n=3300,
        m_statistic=SampleMeanStatistic(n=3300, sum=6900, sum_squares=23500),
        d_statistic=SampleMeanStatistic(n=3300, sum=16500, sum_squares=99000),
        m_d_sum_of_products=43500,
    ),
}
f2 = {"srm_p": float(check_srm([3000, 3300], [0.5, 0.5]))}
f2["cuped"] = compare(cup["control"], cup["b"], sequential=True)
t = TwoSidedTTest(cup["control"], cup["b"], FrequentistConfig(difference_type="relative"))
t.compute_result()
f2["cuped"]["theta"] = float(t.stat_a.theta)
f2["cuped"]["unadjusted_relative"] = fx(
    TwoSidedTTest(cup["control"].post_statistic, cup["b"].post_statistic, FrequentistConfig()).compute_result()
)
f2["ratio"] = compare(ratio["control"], ratio["b"], sequential=True)
f2["bh"] = list(multipletests([f2["cuped"]["seq_relative"]["p"], f2["ratio"]["seq_relative"]["p"]], method="fdr_bh")[1])

# Fixture 3: fixture 1's statistics with analysis settings: alpha 0.1, one-sided tests, a proper
# prior (mean 1 %, variance 0.0025), Holm per metric, and a 5 % non-inferiority margin on the
# latency guardrail (lower is better). One-sided bounds from scipy (0.8.0's "lesser" interval
# puts its bound on the wrong side).
def one_sided(a, b, side, test_value=0.0, alpha=0.1):
    cls = OneSidedTreatmentGreaterTTest if side == "greater" else OneSidedTreatmentLesserTTest
    r = cls(a, b, FrequentistConfig(difference_type="relative", alpha=alpha, test_value=test_value))
    res = r.compute_result()
    width = ss.t.ppf(1 - alpha, r.dof) * np.sqrt(r.variance)
    bound = res.expected - width if side == "greater" else res.expected + width
    return {"estimate": float(res.expected), "bound": float(bound), "p": float(res.p_value)}


prior = GaussianPrior(mean=0.01, variance=0.0025, proper=True)
f3 = {}
for name, stats, inv in [("conv", conv, False), ("rev", rev, False), ("lat", lat, True)]:
    for v in ["b", "c"]:
        a, b = stats["control"], stats[v]
        bres = EffectBayesianABTest(
            a, b, EffectBayesianConfig(difference_type="relative", inverse=inv, alpha=0.1, prior_effect=prior)
        ).compute_result()
        f3[f"{name}/{v}"] = {
            "one_sided": one_sided(a, b, "lesser" if inv else "greater"),
            "bayes": {
                "ctw": float(bres.chance_to_win),
                "risk": [float(x) for x in bres.risk],
                "expected": float(bres.expected),
                "ci": [float(c) for c in bres.ci],
            },
        }
    if name == "lat":
        for v in ["b", "c"]:
            f3[f"lat/{v}"]["non_inferiority"] = one_sided(lat["control"], lat[v], "lesser", test_value=0.05)
for name in ["conv", "rev"]:
    f3[f"holm_{name}"] = list(multipletests([f3[f"{name}/{v}"]["one_sided"]["p"] for v in ["b", "c"]], method="holm")[1])

# Fixture 1 with Holm per variant (two-sided, alpha 0.05): {conv/b, rev/b} and {conv/c, rev/c}.
f1["holm_per_variant"] = {
    v: list(multipletests([f1[f"conv/{v}"]["relative"]["p"], f1[f"rev/{v}"]["relative"]["p"]], method="holm")[1])
    for v in ["b", "c"]
}

# Fixture 2 with sequential tuning tau = 1000.
f2["tau1000"] = {
    name: fx(
        SequentialTwoSidedTTest(
            stats["control"], stats["b"], SequentialConfig(difference_type="relative", sequential_tuning_parameter=1000)
        ).compute_result()
    )
    for name, stats in [("cuped", cup), ("ratio", ratio)]
}

print(json.dumps({"fixture1": f1, "fixture2": f2, "fixture3": f3}, indent=1))
