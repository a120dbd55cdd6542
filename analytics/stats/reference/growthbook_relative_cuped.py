"""Brings gbstats 0.8.0 (the last release on PyPI) up to GrowthBook's current relative CUPED
variance (`frequentist_variance_relative_cuped` in the repository's gbstats), so the reference
numbers follow it. Import before computing anything: it patches the t-tests and the Bayesian
test in place.

The variance is the first-order delta method for
  ((mean_b - theta * pre_b) - (mean_a - theta * pre_a)) / mean_a
with theta fixed and the gradient taken at equal pre-period means:
  variant (1/mean_a, -theta/mean_a), control (-mean_b/mean_a^2, theta/mean_a)
over (post mean, pre mean), each arm's term divided by its n.
"""

from gbstats.bayesian import tests as bayesian_tests
from gbstats.frequentist import tests as frequentist_tests
from gbstats.models.statistics import RegressionAdjustedStatistic


def relative_cuped_variance(a, b):
    base = a.post_statistic.mean
    if base == 0:
        return 0.0
    theta = a.theta or 0.0

    def term(stat, g_post, g_pre):
        return (
            g_post**2 * stat.post_statistic.variance
            + g_pre**2 * stat.pre_statistic.variance
            + 2 * g_post * g_pre * stat.covariance
        ) / stat.n

    return term(b, 1 / base, -theta / base) + term(a, -b.post_statistic.mean / base**2, theta / base)


def _both_cuped(a, b):
    return isinstance(a, RegressionAdjustedStatistic) and isinstance(b, RegressionAdjustedStatistic)


_plain_ttest_variance = frequentist_tests.TTest.variance.fget


def _ttest_variance(self):
    if self.relative and _both_cuped(self.stat_a, self.stat_b):
        return relative_cuped_variance(self.stat_a, self.stat_b)
    return _plain_ttest_variance(self)


frequentist_tests.TTest.variance = property(_ttest_variance)

# The Bayesian test computes its data variance inline through the module-level function; hand
# it the pair being tested so the relative CUPED case can be answered exactly.
_current_pair = []
_plain_variance = bayesian_tests.frequentist_variance
_plain_compute = bayesian_tests.EffectBayesianABTest.compute_result


def _bayesian_variance(var_a, mean_a, n_a, var_b, mean_b, n_b, relative):
    if relative and _current_pair and _both_cuped(*_current_pair[-1]):
        return relative_cuped_variance(*_current_pair[-1])
    return _plain_variance(var_a, mean_a, n_a, var_b, mean_b, n_b, relative)


def _compute_result(self):
    _current_pair.append((self.stat_a, self.stat_b))
    try:
        return _plain_compute(self)
    finally:
        _current_pair.pop()


bayesian_tests.frequentist_variance = _bayesian_variance
bayesian_tests.EffectBayesianABTest.compute_result = _compute_result
