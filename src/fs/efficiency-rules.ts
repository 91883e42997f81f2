import type { ImageEfficiency } from './layer-stats.js';

/**
 * Limits on an image's wasted space, as dive's CI rules have them. Ratios are fractions
 * (0.9 is 90%), as in dive's `.dive-ci`. A limit left out is not checked.
 */
export interface EfficiencyLimits {
  /** Fail when the efficiency score is below this (dive's `lowestEfficiency`). */
  lowestEfficiency?: number;
  /** Fail when more bytes than this are wasted (dive's `highestWastedBytes`). */
  highestWastedBytes?: number;
  /** Fail when the wasted share of the user layers is above this (`highestUserWastedPercent`). */
  highestUserWastedPercent?: number;
}

/** One rule's verdict. */
export interface EfficiencyRuleResult {
  rule: keyof EfficiencyLimits;
  limit: number;
  /** The image's figure for this rule. */
  actual: number;
  passed: boolean;
}

/** The limits dive applies with `--ci` and no configuration. */
export const DIVE_CI_DEFAULTS: Readonly<EfficiencyLimits> = {
  lowestEfficiency: 0.9,
  highestUserWastedPercent: 0.1,
};

/** Judge `efficiency` against each limit given, in dive's order. */
export function checkEfficiency(
  efficiency: ImageEfficiency,
  limits: EfficiencyLimits,
): EfficiencyRuleResult[] {
  const results: EfficiencyRuleResult[] = [];
  if (limits.lowestEfficiency !== undefined) {
    const actual = efficiency.efficiency;
    const limit = limits.lowestEfficiency;
    results.push({ rule: 'lowestEfficiency', limit, actual, passed: actual >= limit });
  }
  if (limits.highestWastedBytes !== undefined) {
    const actual = efficiency.wastedBytes;
    const limit = limits.highestWastedBytes;
    results.push({ rule: 'highestWastedBytes', limit, actual, passed: actual <= limit });
  }
  if (limits.highestUserWastedPercent !== undefined) {
    const actual = efficiency.wastedUserPercent;
    const limit = limits.highestUserWastedPercent;
    results.push({ rule: 'highestUserWastedPercent', limit, actual, passed: actual <= limit });
  }
  return results;
}
