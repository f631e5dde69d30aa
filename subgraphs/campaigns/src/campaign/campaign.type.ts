import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType, JSONScalar, SafeIntScalar } from '@loyalty/kit';
import type { RuleSpec } from '../rules/rules';
import type { CampaignEntity } from './campaign.entity';
import { hasEnded } from './campaign.status';

export enum CampaignStatus {
  DRAFT = 'DRAFT',
  ACTIVE = 'ACTIVE',
  PAUSED = 'PAUSED',
  ENDED = 'ENDED',
}
registerEnumType(CampaignStatus, { name: 'CampaignStatus' });

export enum ActivityType {
  PURCHASE = 'PURCHASE',
  CUSTOM_EVENT = 'CUSTOM_EVENT',
  REFERRAL = 'REFERRAL',
}
registerEnumType(ActivityType, {
  name: 'ActivityType',
  valuesConfig: {
    PURCHASE: { description: 'an order, with its amount' },
    CUSTOM_EVENT: { description: 'a named event, e.g. "newsletter_signup"' },
    REFERRAL: {
      description:
        "a referrer's rule fires when a member it referred makes a first PURCHASE (amount: that purchase's); made by the system, recordActivity refuses it",
    },
  },
});

export enum PointsCalculation {
  FIXED = 'FIXED',
  PER_AMOUNT = 'PER_AMOUNT',
}
registerEnumType(PointsCalculation, { name: 'PointsCalculation' });

export enum CapPeriod {
  DAY = 'DAY',
  WEEK = 'WEEK',
  MONTH = 'MONTH',
  YEAR = 'YEAR',
  LIFETIME = 'LIFETIME',
}
registerEnumType(CapPeriod, { name: 'CapPeriod' });

@ObjectType({ description: "An extra multiplier in time windows (the campaign's time zone)" })
export class HappyHour {
  @Field(() => [Int], { description: '1 = Monday' })
  daysOfWeek!: number[];

  @Field({ description: 'HH:MM, inclusive' })
  startTime!: string;

  @Field({ description: 'HH:MM, exclusive' })
  endTime!: string;

  @Field(() => Float)
  multiplier!: number;
}

@ObjectType()
export class EarningRule {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => ActivityType)
  trigger!: ActivityType;

  @Field(() => String, { nullable: true, description: 'CUSTOM_EVENT only, e.g. "newsletter_signup"' })
  eventName!: string | null;

  @Field(() => PointsCalculation)
  calculation!: PointsCalculation;

  @Field(() => Int, { description: 'FIXED: points per activity; PER_AMOUNT: points per amountStep spent' })
  points!: number;

  @Field(() => Int, { nullable: true, description: 'PER_AMOUNT: minor units per step (100 = per 1.00)' })
  amountStep!: number | null;

  @Field(() => Int, { nullable: true, description: 'minor units; below it the rule gives nothing' })
  minOrderAmount!: number | null;

  @Field(() => Int, { nullable: true, description: 'cap per member per capPeriod' })
  maxPointsPerMember!: number | null;

  @Field(() => CapPeriod, { nullable: true })
  capPeriod!: CapPeriod | null;

  @Field(() => [HappyHour])
  happyHours!: HappyHour[];

  @Field(() => Int, { nullable: true, description: 'PURCHASE: days the points stay pending before they can be spent (0: spendable at once)' })
  pendingDays!: number | null;
}

@ObjectType()
export class Eligibility {
  @Field(() => [String], { nullable: true })
  countries!: string[] | null;

  @Field(() => Int, { nullable: true })
  minTierRank!: number | null;

  @Field(() => JSONScalar, { nullable: true })
  attributeEquals!: Record<string, unknown> | null;

  @Field(() => [ID], { nullable: true, description: 'members in any of these segments; a deleted segment holds nobody' })
  segmentIds!: string[] | null;
}

@ObjectType()
export class CampaignBudget {
  @Field(() => Int, { nullable: true, description: 'null = no budget' })
  maxPoints!: number | null;

  @Field(() => SafeIntScalar, { description: 'a campaign without a budget may issue more than an Int holds' })
  pointsIssued!: number;
}

@ObjectType({ description: "One arm of a campaign's experiment: its own earning rules for its share of members" })
export class ExperimentVariant {
  @Field({ description: 'The arm\'s key, as Member.experimentArm and the report name it' })
  key!: string;

  @Field(() => Int, { description: 'Relative share of the non-holdout members' })
  weight!: number;

  @Field(() => [EarningRule], { description: "What this arm's members earn by, instead of the campaign's rules" })
  rules!: EarningRule[];
}

@ObjectType({ description: 'A campaign run as an A/B test: arms are assigned by a hash of tenant, campaign and member' })
export class Experiment {
  @Field(() => Int, { description: 'Percent of members in the control arm HOLDOUT, who get nothing from this campaign' })
  holdoutPercent!: number;

  @Field(() => [ExperimentVariant], { description: "Empty: the campaign's own rules are the one arm BASE" })
  variants!: ExperimentVariant[];

  @Field(() => Date, { nullable: true, description: 'When the campaign first ran with it; null before' })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When promoteVariant ended it; null while it runs' })
  endedAt!: Date | null;
}

@ObjectType({ description: 'A marketing campaign: when and how members earn points.' })
@Directive('@key(fields: "id")')
export class Campaign {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => CampaignStatus)
  status!: CampaignStatus;

  @Field(() => Date, { nullable: true })
  startsAt!: Date | null;

  @Field(() => Date, { nullable: true })
  endsAt!: Date | null;

  @Field({ description: 'IANA zone for happy hours and cap periods, default "UTC"' })
  timeZone!: string;

  @Field(() => [EarningRule])
  rules!: EarningRule[];

  @Field(() => Eligibility, { nullable: true, description: 'staff only: null for a member' })
  eligibility!: Eligibility | null;

  @Field(() => CampaignBudget, { nullable: true, description: 'staff only: null for a member' })
  budget!: CampaignBudget | null;

  @Field(() => Experiment, { nullable: true, description: 'the A/B test it runs or ran; null without one (and for a member)' })
  experiment!: Experiment | null;
  @Field(() => Int, { description: 'Stacking order: higher applies first; equal priorities apply the older campaign first' })
  priority!: number;

  @Field({ description: 'Once it awards points for an activity, no campaign after it in stacking order does' })
  exclusive!: boolean;

  createdAt!: Date;
}

const toEarningRule = (rule: RuleSpec): EarningRule => ({
  ...rule,
  trigger: ActivityType[rule.trigger],
  calculation: PointsCalculation[rule.calculation],
  capPeriod: rule.capPeriod ? CapPeriod[rule.capPeriod] : null,
  pendingDays: rule.pendingDays ?? 0,
});

/** A campaign past its end date shows ENDED whatever its stored status (campaign.status.ts). */
export const toCampaign = (entity: CampaignEntity, now = new Date()): Campaign => ({
  id: entity.id,
  name: entity.name,
  description: entity.description,
  status: hasEnded(entity.endsAt, now) ? CampaignStatus.ENDED : CampaignStatus[entity.status],
  startsAt: entity.startsAt,
  endsAt: entity.endsAt,
  timeZone: entity.timeZone,
  rules: entity.rules.map(toEarningRule),
  eligibility: entity.eligibility
    ? {
        countries: entity.eligibility.countries ?? null,
        minTierRank: entity.eligibility.minTierRank ?? null,
        attributeEquals: entity.eligibility.attributeEquals ?? null,
        segmentIds: entity.eligibility.segmentIds ?? null,
      }
    : null,
  budget: { maxPoints: entity.maxPoints, pointsIssued: entity.pointsIssued },
  experiment: entity.experiment
    ? {
        holdoutPercent: entity.experiment.holdoutPercent,
        variants: entity.experiment.variants.map((v) => ({ key: v.key, weight: v.weight, rules: v.rules.map(toEarningRule) })),
        startedAt: entity.experiment.startedAt ? new Date(entity.experiment.startedAt) : null,
        endedAt: entity.experiment.endedAt ? new Date(entity.experiment.endedAt) : null,
      }
    : null,
  priority: entity.priority,
  exclusive: entity.exclusive,
  createdAt: entity.createdAt,
});

@ObjectType({ description: "What a draft campaign would have done on the tenant's recorded activities in a range (nothing written)" })
export class CampaignSimulation {
  @Field(() => SafeIntScalar, { description: 'points it would have issued, after caps and budget' })
  pointsIssued!: number;

  @Field(() => Int, { description: 'members it would have awarded points to' })
  members!: number;

  @Field(() => Int, { description: 'activities it would have awarded points for' })
  activities!: number;

  @Field(() => Date, { nullable: true, description: 'when its budget would have run out (null: it would not have)' })
  budgetExhaustedAt!: Date | null;
}

export const CampaignConnection = ConnectionType('Campaign', Campaign);
export type CampaignConnection = InstanceType<typeof CampaignConnection>;
