import { BASE, HOLDOUT, experimentArm } from '@loyalty/kit';
import type { RuleSpec } from '../rules/rules';

/**
 * A campaign's experiment as stored with it. Assignment (which arm a member is in) is the kit's
 * (experiment.ts), shared with analytics' report; this module says what an arm earns by.
 */
export interface ExperimentSpec {
  holdoutPercent: number;
  variants: { key: string; weight: number; rules: RuleSpec[] }[];
  /** ISO instant the campaign first ran with it (activated, or given it while active); null before. */
  startedAt: string | null;
  /** ISO instant promoteVariant ended it; from then on every member earns by the campaign's rules. */
  endedAt: string | null;
}

/** What arm choice reads of a campaign. */
export interface ExperimentCampaign {
  id: string;
  tenant: string;
  rules: RuleSpec[];
  experiment: ExperimentSpec | null;
}

/** The experiment a campaign runs now: none without one or once it ended. */
const running = (campaign: ExperimentCampaign): ExperimentSpec | null =>
  campaign.experiment && campaign.experiment.endedAt === null ? campaign.experiment : null;

/** The member's arm in the campaign's running experiment; null when it runs none. */
export function armFor(campaign: ExperimentCampaign, memberId: string): string | null {
  const experiment = running(campaign);
  return experiment ? experimentArm(experiment, campaign.tenant, campaign.id, memberId) : null;
}

/**
 * The rules a member earns by in a campaign: the campaign's own without a running experiment (or in
 * the BASE arm), none in HOLDOUT, its variant's rules in a variant arm.
 */
export function rulesFor(campaign: ExperimentCampaign, memberId: string): RuleSpec[] {
  const arm = armFor(campaign, memberId);
  if (arm === null || arm === BASE) return campaign.rules;
  if (arm === HOLDOUT) return [];
  return campaign.experiment!.variants.find((variant) => variant.key === arm)?.rules ?? campaign.rules;
}
