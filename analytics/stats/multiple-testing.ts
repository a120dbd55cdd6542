// Adjusted p-values across variants × metrics, the two corrections GrowthBook offers
// (its back-end adjustPValuesHolmBonferroni / adjustPValuesBenjaminiHochberg; gbstats' Python
// package does not adjust). Both are the textbook step-down / step-up forms, identical to R's
// p.adjust(method = "holm" | "BH").

export type PValueCorrection = "holm-bonferroni" | "benjamini-hochberg";

/** Holm step-down: p_(i) · (m - i + 1), made non-decreasing, capped at 1. Controls FWER. */
export function holmBonferroni(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((a, b) => (pValues[a] as number) - (pValues[b] as number));
  const adjusted = new Array<number>(m);
  let runningMax = 0;
  order.forEach((index, rank) => {
    runningMax = Math.max(runningMax, Math.min(1, (pValues[index] as number) * (m - rank)));
    adjusted[index] = runningMax;
  });
  return adjusted;
}

/** Benjamini–Hochberg step-up: p_(i) · m / i, made non-increasing from the top, capped at 1. Controls FDR. */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((a, b) => (pValues[b] as number) - (pValues[a] as number));
  const adjusted = new Array<number>(m);
  let runningMin = 1;
  order.forEach((index, position) => {
    const rank = m - position;
    runningMin = Math.min(runningMin, ((pValues[index] as number) * m) / rank);
    adjusted[index] = runningMin;
  });
  return adjusted;
}

export function adjustPValues(pValues: readonly number[], method: PValueCorrection): number[] {
  return method === "holm-bonferroni" ? holmBonferroni(pValues) : benjaminiHochberg(pValues);
}

/**
 * Adjusts keyed p-values (e.g. `${metric}/${variant}`) as one family, returning them in input
 * order. Pass every non-guardrail comparison of an experiment at once, as GrowthBook does.
 */
export function adjustKeyedPValues<K>(
  entries: readonly { readonly key: K; readonly pValue: number }[],
  method: PValueCorrection,
): { key: K; pValue: number; adjustedPValue: number }[] {
  const adjusted = adjustPValues(
    entries.map((e) => e.pValue),
    method,
  );
  return entries.map((e, i) => ({ key: e.key, pValue: e.pValue, adjustedPValue: adjusted[i] as number }));
}
