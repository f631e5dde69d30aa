import { Field, Float, Int, ObjectType } from 'type-graphql';
import { SafeIntScalar } from '@loyalty/kit';
import { Campaign } from '../stats/stats.type';

@ObjectType({ description: "One arm of a campaign's experiment, over the experiment's time (startedAt to endedAt, or now)" })
export class ExperimentArm {
  @Field({ description: 'HOLDOUT (the control arm), BASE (no variants) or a variant key' })
  key!: string;

  @Field(() => Int, { description: "the tenant's members assigned to the arm (enrolled before the experiment ended)" })
  members!: number;

  @Field(() => Int, { description: 'its members with at least one activity during the experiment' })
  activeMembers!: number;

  @Field(() => Int, { description: "its members' activities during the experiment (the holdout's included)" })
  activities!: number;

  @Field(() => SafeIntScalar, { description: 'points this campaign awarded its members during the experiment' })
  pointsIssued!: number;

  @Field(() => SafeIntScalar, { description: "its members' purchase amounts during the experiment, minor units" })
  purchaseAmount!: number;

  @Field(() => Float, { description: 'purchaseAmount ÷ members (members without purchases count as 0)' })
  amountPerMember!: number;

  @Field(() => Int, { description: "its members' redemptions during the experiment, less cancellations" })
  redemptions!: number;

  @Field(() => Float, { nullable: true, description: "amountPerMember against HOLDOUT's, as a fraction (0.1 = 10 % more); null without a holdout, for HOLDOUT itself, or when HOLDOUT's is 0" })
  upliftVsHoldout!: number | null;

  @Field(() => Float, {
    nullable: true,
    description: "two-sided p-value of Welch's t-test of purchase amount per member against HOLDOUT; null without a holdout, for HOLDOUT itself, or when either arm has fewer than 2 members",
  })
  pValue!: number | null;
}

@ObjectType({ description: "A campaign's experiment, arm by arm, compared with its holdout" })
export class ExperimentReport {
  @Field(() => Campaign, { description: 'the campaign that runs (or ran) the experiment' })
  campaign!: Campaign;

  @Field(() => [ExperimentArm], { description: 'HOLDOUT first (when it has a share), then the variants in their order, or BASE' })
  arms!: ExperimentArm[];
}
