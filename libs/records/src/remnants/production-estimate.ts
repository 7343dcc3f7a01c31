/**
 * How many were built, from the serial numbers seen (issue 14, item 3): the German tank
 * problem. Pure: no NestJS, no database.
 */

/** What the API writes beside every figure it computes here. */
export const ESTIMATE_METHOD =
  'German tank problem. Point estimate: the minimum-variance unbiased estimator N = m + m/k - 1, where m is the largest ' +
  'sequence number seen and k the number of distinct sequence numbers seen (the same number seen twice counts once). ' +
  'Interval: [m, m / alpha^(1/k)] at one-sided confidence 1 - alpha, from the distribution of the largest number seen ' +
  '(P(max <= m | N) <= (m/N)^k); the upper bound is rounded down to a whole number and is conservative when numbers are ' +
  'seen without repetition. Assumes numbers run from 1 without gaps within a series and that every item built was as ' +
  'likely to be recovered as any other. Per month: the same estimate over every number seen up to the end of that month ' +
  '(by recovery time, else the incident’s start), a lower bound on output to that date.';

/** A production estimate from k distinct serial numbers whose largest is m. */
export interface ProductionEstimate {
  /** Distinct numbers seen. */
  k: number;
  /** The largest number seen: the lower bound. */
  m: number;
  /** m + m/k - 1. */
  estimate: number;
  lower: number;
  upper: number;
  confidence: number;
}

/** The German tank estimate and its one-sided interval at `confidence` (0 < confidence < 1); null when nothing was seen. */
export function germanTankEstimate(numbers: readonly number[], confidence = 0.95): ProductionEstimate | null {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError('confidence must lie strictly between 0 and 1');
  const distinct = new Set(numbers.filter((n) => Number.isSafeInteger(n) && n >= 1));
  const k = distinct.size;
  if (k === 0) return null;
  let m = 0;
  for (const n of distinct) if (n > m) m = n;
  const alpha = 1 - confidence;
  return {
    k,
    m,
    estimate: Math.round((m + m / k - 1) * 100) / 100,
    lower: m,
    upper: Math.floor(m / alpha ** (1 / k) + 1e-9),
    confidence,
  };
}

/** A month (`YYYY-MM`, UTC) and the estimate over every number seen up to its end. */
export interface MonthlyEstimate {
  month: string;
  /** Distinct numbers first seen that month. */
  seen: number;
  estimate: ProductionEstimate;
}

/** Per month in which numbers were seen: the cumulative estimate to that month's end. */
export function monthlyEstimates(sightings: readonly { number: number; month: string }[], confidence = 0.95): MonthlyEstimate[] {
  const firstSeen = new Map<number, string>();
  for (const { number, month } of sightings) {
    const earlier = firstSeen.get(number);
    if (earlier === undefined || month < earlier) firstSeen.set(number, month);
  }
  const firstByMonth = new Map<string, number[]>();
  for (const [n, month] of firstSeen) {
    const numbers = firstByMonth.get(month);
    if (numbers) numbers.push(n);
    else firstByMonth.set(month, [n]);
  }
  const months = [...firstByMonth.keys()].sort();
  const byMonth = months.map((month) => firstByMonth.get(month)!);
  const cumulative: number[] = [];
  return months.map((month, i) => {
    cumulative.push(...byMonth[i]!);
    return { month, seen: byMonth[i]!.length, estimate: germanTankEstimate(cumulative, confidence)! };
  });
}

/** Draws k distinct whole numbers from 1..n with `random` (uniform in [0, 1)). */
export function drawWithoutReplacement(n: number, k: number, random: () => number): number[] {
  if (k > n) throw new RangeError('cannot draw more numbers than there are');
  // Floyd's algorithm: k draws, no array of n.
  const chosen = new Set<number>();
  for (let j = n - k + 1; j <= n; j++) {
    const t = 1 + Math.floor(random() * j);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen];
}

/**
 * The simulation that checks the estimator: `trials` times, k serials drawn from 1..n; how
 * often the interval held n, and the mean point estimate.
 */
export function simulateEstimator(n: number, k: number, trials: number, confidence: number, random: () => number): { coverage: number; meanEstimate: number } {
  let covered = 0;
  let sum = 0;
  for (let i = 0; i < trials; i++) {
    const estimate = germanTankEstimate(drawWithoutReplacement(n, k, random), confidence)!;
    if (estimate.lower <= n && n <= estimate.upper) covered++;
    sum += estimate.estimate;
  }
  return { coverage: covered / trials, meanEstimate: sum / trials };
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32): simulations that repeat exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
