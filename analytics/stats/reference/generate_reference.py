"""Prints the reference numbers hard-coded in analytics/stats/*.unit.spec.ts: gbstats 0.8.0 with
the relative CUPED variance GrowthBook uses since (growthbook_relative_cuped.py).

Not needed to run the tests. Reproduce with:
  python3 -m venv /tmp/gbvenv && /tmp/gbvenv/bin/pip install gbstats==0.8.0 statsmodels
  /tmp/gbvenv/bin/python analytics/stats/reference/generate_reference.py
"""

import importlib.metadata
import json

import growthbook_relative_cuped  # noqa: F401  (patches gbstats before any test runs)

import numpy as np
from scipy import stats as ss
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

out = {"gbstats": importlib.metadata.version("gbstats"), "scipy": ss.__name__}


def f(x):
    return float(x)


def freq(make, diff, alpha=0.05):
    a, b = make()
    r = TwoSidedTTest(a, b, FrequentistConfig(difference_type=diff, alpha=alpha))
    res = r.compute_result()
    d = {
        "expected": f(res.expected),
        "ci": [f(c) for c in res.ci],
        "pValue": f(res.p_value),
        "stddev": f(res.uplift.stddev),
        "error": res.error_message,
    }
    if res.error_message is None:
        d["dof"] = f(r.dof)
    return d


def seq(make, diff, tuning=5000, alpha=0.05):
    a, b = make()
    r = SequentialTwoSidedTTest(
        a, b, SequentialConfig(difference_type=diff, sequential_tuning_parameter=tuning, alpha=alpha)
    )
    res = r.compute_result()
    return {"expected": f(res.expected), "ci": [f(c) for c in res.ci], "pValue": f(res.p_value), "error": res.error_message}


def bayes(make, diff, prior=None, inverse=False):
    a, b = make()
    cfg = EffectBayesianConfig(
        difference_type=diff, inverse=inverse, prior_effect=prior or GaussianPrior(), prior_type="relative"
    )
    res = EffectBayesianABTest(a, b, cfg).compute_result()
    return {
        "chanceToWin": f(res.chance_to_win),
        "expected": f(res.expected),
        "ci": [f(c) for c in res.ci],
        "risk": [f(x) for x in res.risk],
        "stddev": f(res.uplift.stddev),
        "error": res.error_message,
    }


def describe(make):
    a, b = make()
    return {
        "a": {"mean": f(a.mean), "variance": f(a.variance)},
        "b": {"mean": f(b.mean), "variance": f(b.variance)},
    }


def all_tests(make):
    return {
        "stats": describe(make),
        "freqRel": freq(make, "relative"),
        "freqAbs": freq(make, "absolute"),
        "seqRel": seq(make, "relative"),
        "seqAbs": seq(make, "absolute"),
        "bayesRel": bayes(make, "relative"),
        "bayesAbs": bayes(make, "absolute"),
    }


# Conversion: 10.00% vs 10.90% over 10,000 users each.
conv = lambda: (ProportionStatistic(n=10000, sum=1000), ProportionStatistic(n=10000, sum=1090))
out["conversion"] = all_tests(conv)
out["conversion"]["freqRelAlpha10"] = freq(conv, "relative", alpha=0.1)
out["conversion"]["seqRelTuning1000"] = seq(conv, "relative", tuning=1000)
out["conversion"]["bayesRelProper"] = bayes(conv, "relative", GaussianPrior(mean=0, variance=0.01, proper=True))
out["conversion"]["bayesAbsProper"] = bayes(conv, "absolute", GaussianPrior(mean=0.01, variance=0.04, proper=True))
out["conversion"]["bayesRelInverse"] = bayes(conv, "relative", inverse=True)

# Revenue-like mean metric (sums of per-user totals).
rev = lambda: (
    SampleMeanStatistic(n=5000, sum=49500.0, sum_squares=1012345.0),
    SampleMeanStatistic(n=5100, sum=52530.0, sum_squares=1050234.0),
)
out["revenue"] = all_tests(rev)

# Ratio metric from integer per-user numerator/denominator.
rng = np.random.default_rng(7)


def ratio_stats(n, rate):
    d = rng.poisson(4, n) + 1
    m = rng.binomial(d, rate)
    return {
        "n": int(n),
        "mSum": int(m.sum()),
        "mSumSquares": int((m * m).sum()),
        "dSum": int(d.sum()),
        "dSumSquares": int((d * d).sum()),
        "crossSum": int((m * d).sum()),
    }


ra_in, rb_in = ratio_stats(3000, 0.2), ratio_stats(3100, 0.215)


def to_ratio(s):
    return RatioStatistic(
        n=s["n"],
        m_statistic=SampleMeanStatistic(n=s["n"], sum=s["mSum"], sum_squares=s["mSumSquares"]),
        d_statistic=SampleMeanStatistic(n=s["n"], sum=s["dSum"], sum_squares=s["dSumSquares"]),
        m_d_sum_of_products=s["crossSum"],
    )


ratio = lambda: (to_ratio(ra_in), to_ratio(rb_in))
out["ratio"] = {"inputs": [ra_in, rb_in], **all_tests(ratio)}
a, _ = ratio()
out["ratio"]["aCovariance"] = f(a.covariance)


# CUPED: post correlated with pre, integer valued.
def cuped_stats(n, lift):
    pre = rng.poisson(20, n)
    post = rng.poisson(pre * (1 + lift) + 1)
    return {
        "n": int(n),
        "postSum": int(post.sum()),
        "postSumSquares": int((post * post).sum()),
        "preSum": int(pre.sum()),
        "preSumSquares": int((pre * pre).sum()),
        "crossSum": int((post * pre).sum()),
    }


ca_in, cb_in = cuped_stats(2000, 0.0), cuped_stats(2050, 0.03)


def to_ra(s):
    return RegressionAdjustedStatistic(
        n=s["n"],
        post_statistic=SampleMeanStatistic(n=s["n"], sum=s["postSum"], sum_squares=s["postSumSquares"]),
        pre_statistic=SampleMeanStatistic(n=s["n"], sum=s["preSum"], sum_squares=s["preSumSquares"]),
        post_pre_sum_of_products=s["crossSum"],
        theta=0,
    )


def to_post(s):
    return SampleMeanStatistic(n=s["n"], sum=s["postSum"], sum_squares=s["postSumSquares"])


cuped = lambda: (to_ra(ca_in), to_ra(cb_in))
unadj = lambda: (to_post(ca_in), to_post(cb_in))
out["cuped"] = {"inputs": [ca_in, cb_in], **all_tests(cuped)}
t = TwoSidedTTest(*cuped())
out["cuped"]["theta"] = f(t.stat_a.theta)
out["cuped"]["adjusted"] = {
    "a": {"mean": f(t.stat_a.mean), "variance": f(t.stat_a.variance), "unadjustedMean": f(t.stat_a.unadjusted_mean)},
    "b": {"mean": f(t.stat_b.mean), "variance": f(t.stat_b.variance), "unadjustedMean": f(t.stat_b.unadjusted_mean)},
}
out["cupedUnadjusted"] = {"stats": describe(unadj), "freqRel": freq(unadj, "relative"), "freqAbs": freq(unadj, "absolute")}

# Proportion covariate CUPED (binary pre and post).
pa = RegressionAdjustedStatistic(
    n=1000,
    post_statistic=ProportionStatistic(n=1000, sum=300),
    pre_statistic=ProportionStatistic(n=1000, sum=250),
    post_pre_sum_of_products=180,
    theta=0,
)
pb = RegressionAdjustedStatistic(
    n=1000,
    post_statistic=ProportionStatistic(n=1000, sum=330),
    pre_statistic=ProportionStatistic(n=1000, sum=240),
    post_pre_sum_of_products=175,
    theta=0,
)
t = TwoSidedTTest(pa, pb)
out["cupedBinary"] = {"theta": f(t.stat_a.theta), "freqRel": {"expected": f(t.compute_result().expected), "pValue": f(t.compute_result().p_value), "ci": [f(c) for c in t.compute_result().ci]}}

# Edge cases.
out["edge"] = {
    "zeroControlMean": freq(lambda: (SampleMeanStatistic(n=100, sum=0, sum_squares=0), SampleMeanStatistic(n=100, sum=10, sum_squares=20)), "relative"),
    "nOne": freq(lambda: (SampleMeanStatistic(n=1, sum=3, sum_squares=9), SampleMeanStatistic(n=100, sum=10, sum_squares=20)), "relative"),
    "zeroVariance": freq(lambda: (SampleMeanStatistic(n=100, sum=200, sum_squares=400), SampleMeanStatistic(n=100, sum=210, sum_squares=500)), "absolute"),
    "bayesEmpty": bayes(lambda: (SampleMeanStatistic(n=100, sum=200, sum_squares=500), SampleMeanStatistic(n=0, sum=0, sum_squares=0)), "absolute"),
    "bayesZeroControlAbs": bayes(lambda: (SampleMeanStatistic(n=100, sum=0, sum_squares=0), SampleMeanStatistic(n=100, sum=10, sum_squares=20)), "absolute"),
}

# SRM.
out["srm"] = {
    "5000_5300": f(check_srm([5000, 5300], [0.5, 0.5])),
    "5000_5400": f(check_srm([5000, 5400], [0.5, 0.5])),
    "5000_5050": f(check_srm([5000, 5050], [0.5, 0.5])),
    "three_arms": f(check_srm([3000, 3100, 3900], [0.3, 0.3, 0.4])),
    "zero_weight": f(check_srm([3000, 3100, 10], [0.5, 0.5, 0])),
    "empty": f(check_srm([0, 0], [0.5, 0.5])),
}

# Multiple testing on a known vector.
pv = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.7]
out["multipleTesting"] = {
    "pValues": pv,
    "holm": [f(x) for x in multipletests(pv, method="holm")[1]],
    "bh": [f(x) for x in multipletests(pv, method="fdr_bh")[1]],
}

# Distribution spot values.
out["dist"] = {
    "normCdf": [[x, f(ss.norm.cdf(x))] for x in [-8.5, -3.2, -1.0, 0.0, 0.5, 1.96, 4.0]],
    "normPpf": [[p, f(ss.norm.ppf(p))] for p in [1e-10, 0.001, 0.025, 0.5, 0.8, 0.975, 0.999999]],
    "tCdf": [[x, d, f(ss.t.cdf(x, d))] for x, d in [(2.0, 1), (-1.5, 3.7), (2.1, 19.5), (0.3, 1e5), (-4.2, 7), (1.0, 2.5e6)]],
    "tPpf": [[p, d, f(ss.t.ppf(p, d))] for p, d in [(0.975, 1), (0.975, 4.3), (0.95, 30), (0.975, 19997.9), (0.025, 12), (0.999, 2.2)]],
    "chi2Sf": [[x, k, f(ss.chi2.sf(x, k))] for x, k in [(8.737864, 1), (0.1, 1), (15.0, 2), (3.0, 5), (50.0, 3)]],
}

# End to end through gbstats' own runner (rows as SQL would return them), for analyzeMetric.
from dataclasses import asdict as _asdict
from gbstats.gbstats import process_single_metric
from gbstats.models.settings import AnalysisSettingsForStatsEngine, MetricSettingsForStatsEngine


def runner(rows, metric, engine, sequential=False):
    analysis = AnalysisSettingsForStatsEngine(
        var_names=[str(i) for i in range(len(rows))],
        var_ids=[str(i) for i in range(len(rows))],
        weights=[1 / len(rows)] * len(rows),
        stats_engine=engine,
        sequential_testing_enabled=sequential,
        difference_type="relative",
    )
    res = process_single_metric(rows=rows, metric=metric, analyses=[analysis])
    dim = _asdict(res)["analyses"][0]["dimensions"][0]
    return {"srm": dim["srm"], "variations": dim["variations"]}


def row(v, users, **cols):
    return {"dimension": "All", "variation": str(v), "users": users, "count": users, **cols}


conv_rows = [
    row(0, 10000, main_sum=1000, main_sum_squares=1000),
    row(1, 10000, main_sum=1090, main_sum_squares=1090),
    row(2, 9800, main_sum=950, main_sum_squares=950),
]
conv_metric = MetricSettingsForStatsEngine(id="m", name="m", statistic_type="mean", main_metric_type="binomial")
out["runnerConversion"] = {
    "frequentist": runner(conv_rows, conv_metric, "frequentist"),
    "sequential": runner(conv_rows, conv_metric, "frequentist", sequential=True),
    "bayesian": runner(conv_rows, conv_metric, "bayesian"),
}
cuped_rows = [
    row(i, s["n"], main_sum=s["postSum"], main_sum_squares=s["postSumSquares"], covariate_sum=s["preSum"],
        covariate_sum_squares=s["preSumSquares"], main_covariate_sum_product=s["crossSum"])
    for i, s in enumerate([ca_in, cb_in])
]
cuped_metric = MetricSettingsForStatsEngine(
    id="c", name="c", statistic_type="mean_ra", main_metric_type="count", covariate_metric_type="count"
)
out["runnerCuped"] = {
    "frequentist": runner(cuped_rows, cuped_metric, "frequentist"),
    "bayesian": runner(cuped_rows, cuped_metric, "bayesian"),
}



# One-sided tests and non-inferiority (one-sided against a margin). gbstats 0.8.0's p-values are
# used as they are; its "lesser" interval puts the bound at estimate - width, so the bounds here
# are computed from scipy: greater estimate - t(1 - alpha) se, lesser estimate + t(1 - alpha) se.
def one_sided(make, diff, side, test_value=0.0, alpha=0.05):
    a, b = make()
    cls = OneSidedTreatmentGreaterTTest if side == "greater" else OneSidedTreatmentLesserTTest
    r = cls(a, b, FrequentistConfig(difference_type=diff, alpha=alpha, test_value=test_value))
    res = r.compute_result()
    width = ss.t.ppf(1 - alpha, r.dof) * np.sqrt(r.variance)
    bound = res.expected - width if side == "greater" else res.expected + width
    return {"pValue": f(res.p_value), "bound": f(bound), "expected": f(res.expected)}


out["oneSided"] = {
    "conversionGreater": one_sided(conv, "relative", "greater"),
    "conversionLesser": one_sided(conv, "relative", "lesser"),
    "revenueGreaterAbsoluteAlpha10": one_sided(rev, "absolute", "greater", alpha=0.1),
    "revenueNonInferiority2pct": one_sided(rev, "relative", "greater", test_value=-0.02),
    "revenueLowerIsBetterMargin10pct": one_sided(rev, "relative", "lesser", test_value=0.1),
}

print(json.dumps(out, indent=1))
