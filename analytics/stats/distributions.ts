// Normal, Student t and chi-square distribution functions, written here rather than taken from
// an npm package: the candidates (jstat 1.9.6) ship no types and get little upkeep, and gbstats
// parity needs t quantiles at fractional Welch degrees of freedom accurate well past 1e-6.
// Everything is built on two special functions (regularised incomplete gamma and beta,
// evaluated with the Lentz continued fraction) plus a safeguarded Newton solve for quantiles;
// the unit tests pin them to scipy values to 1e-10.

const EPSILON = 1e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

// Lanczos approximation (g = 7, n = 9): relative error ~1e-15 for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  if (x < 0.5) {
    // Reflection keeps the series in its accurate range.
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + 7.5;
  return LOG_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

// Stirling's series remainder lnΓ(z) - [(z - ½)ln z - z + ½ln 2π]; accurate to ~1e-17 for z > 100.
function stirlingRemainder(z: number): number {
  const z2 = z * z;
  return (1 / 12 - (1 / 360 - 1 / (1260 * z2)) / z2) / z;
}

function logBeta(a: number, b: number): number {
  const big = Math.max(a, b);
  const small = Math.min(a, b);
  if (big < 100) return logGamma(a) + logGamma(b) - logGamma(a + b);
  // lnΓ(big) - lnΓ(big + small) written without subtracting two huge numbers, so the t
  // distribution keeps ~1e-15 accuracy at the very large Welch degrees of freedom of big tests.
  const sum = big + small;
  const ratioTerm = -(big - 0.5) * Math.log1p(small / big) - small * Math.log(sum) + small;
  return logGamma(small) + ratioTerm + stirlingRemainder(big) - stirlingRemainder(sum);
}

/** Regularised lower incomplete gamma P(a, x) and its complement Q(a, x). */
function incompleteGamma(a: number, x: number): { lower: number; upper: number } {
  if (x <= 0) return { lower: 0, upper: 1 };
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    // Series converges fast below the mean.
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < MAX_ITERATIONS; k++) {
      term *= x / (a + k);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
    }
    const lower = Math.exp(logPrefix) * sum;
    return { lower, upper: 1 - lower };
  }
  // Continued fraction for the upper tail keeps relative accuracy far out in the tail.
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  const upper = Math.exp(logPrefix) * h;
  return { lower: 1 - upper, upper };
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return h;
}

/**
 * Regularised incomplete beta I_x(a, b). `oneMinusX` is passed separately so callers that know
 * 1 - x exactly (the t distribution with huge degrees of freedom) do not lose it to rounding.
 */
export function incompleteBeta(x: number, a: number, b: number, oneMinusX = 1 - x): number {
  if (x <= 0) return 0;
  if (oneMinusX <= 0) return 1;
  const logX = oneMinusX < 0.5 ? Math.log1p(-oneMinusX) : Math.log(x);
  const logOneMinusX = x < 0.5 ? Math.log1p(-x) : Math.log(oneMinusX);
  const logFront = a * logX + b * logOneMinusX - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) {
    return (Math.exp(logFront) * betaContinuedFraction(a, b, x)) / a;
  }
  return 1 - (Math.exp(logFront) * betaContinuedFraction(b, a, oneMinusX)) / b;
}

export function normalPdf(x: number, mean = 0, sd = 1): number {
  const z = (x - mean) / sd;
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI) / sd;
}

/** P(Z <= x) for Z ~ N(mean, sd²), accurate in both tails. */
export function normalCdf(x: number, mean = 0, sd = 1): number {
  const z = (x - mean) / sd;
  const half = (z * z) / 2;
  // erfc(|z|/√2) = Q(1/2, z²/2): the smaller tail is always computed directly.
  const tail = 0.5 * incompleteGamma(0.5, half).upper;
  return z < 0 ? tail : 1 - tail;
}

/** P(Z > x), the survival function, without the 1 - cdf cancellation. */
export function normalSf(x: number, mean = 0, sd = 1): number {
  return normalCdf(-x, -mean, sd);
}

/**
 * Solves cdf(x) = p for a continuous, increasing cdf by Newton steps kept inside a bracket
 * (bisection whenever a step would leave it), which converges to double precision.
 */
function solveIncreasing(
  cdf: (x: number) => number,
  pdf: (x: number) => number,
  p: number,
  start: number,
  lo: number,
  hi: number,
): number {
  let x = start;
  for (let i = 0; i < 500; i++) {
    const f = cdf(x) - p;
    if (f === 0) return x;
    if (f < 0) lo = x;
    else hi = x;
    const slope = pdf(x);
    let next = slope > 0 ? x - f / slope : NaN;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - x) <= 1e-15 * Math.max(1, Math.abs(x))) return next;
    x = next;
  }
  return x;
}

/** Quantile of the standard normal (optionally shifted and scaled). */
export function normalPpf(p: number, mean = 0, sd = 1): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p > 0.5) return mean - sd * normalPpf(1 - p);
  // Abramowitz & Stegun 26.2.23 (error < 4.5e-4) as the starting point for Newton.
  const t = Math.sqrt(-2 * Math.log(p));
  const guess =
    -t +
    (2.515517 + 0.802853 * t + 0.010328 * t * t) /
      (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  const z = solveIncreasing(
    (x) => normalCdf(x),
    (x) => normalPdf(x),
    p,
    guess,
    -40,
    0,
  );
  return mean + sd * z;
}

/** P(T > |t|) for Student's t with `df` degrees of freedom (df may be fractional). */
function studentTUpperTailAbs(t: number, df: number): number {
  const t2 = t * t;
  const x = df / (df + t2);
  const oneMinusX = t2 / (df + t2);
  return 0.5 * incompleteBeta(x, df / 2, 0.5, oneMinusX);
}

export function studentTPdf(t: number, df: number): number {
  const logDensity =
    logGamma((df + 1) / 2) -
    logGamma(df / 2) -
    0.5 * Math.log(df * Math.PI) -
    ((df + 1) / 2) * Math.log1p((t * t) / df);
  return Math.exp(logDensity);
}

export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = studentTUpperTailAbs(t, df);
  return t < 0 ? tail : 1 - tail;
}

export function studentTSf(t: number, df: number): number {
  return studentTCdf(-t, df);
}

export function studentTPpf(p: number, df: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1 || !(df > 0)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (p > 0.5) return -studentTPpf(1 - p, df);
  // Lower tail: widen the bracket until it holds the root, then refine.
  let lo = normalPpf(p) * 2 - 1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  return solveIncreasing(
    (x) => studentTCdf(x, df),
    (x) => studentTPdf(x, df),
    p,
    normalPpf(p),
    lo,
    0,
  );
}

/** P(X > x) for a chi-square variable with k degrees of freedom. */
export function chiSquareSf(x: number, k: number): number {
  if (Number.isNaN(x) || !(k > 0)) return NaN;
  if (x <= 0) return 1;
  return incompleteGamma(k / 2, x / 2).upper;
}
