import { HOLDOUT, NotFoundError, armOfBucket, armRanges, parseId } from '@loyalty/kit';
import type { ExperimentRepository } from './experiment.repository';
import type { ExperimentArm, ExperimentReport } from './experiment.type';
import { EMPTY, merge, uplift, welch, type Summary } from './welch.rule';

interface ArmTotals extends Omit<ExperimentArm, 'amountPerMember' | 'upliftVsHoldout' | 'pValue'> {
  amount: Summary;
}

/**
 * experimentReport: SQL sums the members up per hash bucket; the kit's arm rule deals the buckets to
 * arms (so the rule has one home, the hash two: test/experiments.test.ts proves they agree); each arm is
 * then compared with HOLDOUT on purchase amount per member.
 */
export class ExperimentService {
  constructor(private readonly repository: ExperimentRepository) {}

  async report(tenant: string, campaignIdInput: string): Promise<ExperimentReport> {
    const campaignId = parseId(campaignIdInput, 'campaignId');
    const experiment = await this.repository.experiment(tenant, campaignId);
    if (!experiment) throw new NotFoundError('Experiment', 'campaignId', 'This campaign runs no experiment (or it is not known here yet)');
    const arms = new Map<string, ArmTotals>(
      armRanges(experiment).map(({ key }) => [key, { key, members: 0, activeMembers: 0, activities: 0, pointsIssued: 0, purchaseAmount: 0, redemptions: 0, amount: EMPTY }]),
    );
    for (const figures of await this.repository.buckets(tenant, campaignId, experiment)) {
      const arm = arms.get(armOfBucket(experiment, figures.bucket))!;
      arm.members += figures.members;
      arm.activeMembers += figures.activeMembers;
      arm.activities += figures.activities;
      arm.pointsIssued += figures.pointsIssued;
      arm.purchaseAmount += figures.purchaseAmount;
      arm.redemptions += figures.redemptions;
      arm.amount = merge(arm.amount, figures.amount);
    }
    const holdout = arms.get(HOLDOUT)?.amount ?? null;
    return {
      campaign: { id: campaignId },
      arms: [...arms.values()].map(({ amount, ...arm }) => {
        const compared = arm.key !== HOLDOUT && holdout !== null;
        return {
          ...arm,
          amountPerMember: arm.members > 0 ? arm.purchaseAmount / arm.members : 0,
          upliftVsHoldout: compared ? uplift(amount, holdout) : null,
          pValue: compared ? (welch(amount, holdout)?.pValue ?? null) : null,
        };
      }),
    };
  }
}
