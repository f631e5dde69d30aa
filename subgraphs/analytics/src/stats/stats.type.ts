import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { SafeIntScalar } from '@loyalty/kit';

@ObjectType({ description: "Headline numbers of a tenant's program" })
export class ProgramStats {
  @Field(() => SafeIntScalar, { description: 'members enrolled up to the end of the range' })
  members!: number;

  @Field(() => SafeIntScalar, { description: 'members who earned, redeemed or were credited within the range' })
  activeMembers!: number;

  @Field(() => SafeIntScalar, { description: 'EARN and net ADJUST points within the range' })
  pointsIssued!: number;

  @Field(() => SafeIntScalar, { description: 'REDEEM points within the range, less reversals' })
  pointsRedeemed!: number;

  @Field(() => SafeIntScalar)
  pointsExpired!: number;

  @Field(() => SafeIntScalar, { description: 'the sum of member balances at the end of the range' })
  pointsOutstanding!: number;

  @Field(() => SafeIntScalar, { description: 'completed redemptions within the range, less cancellations' })
  redemptions!: number;

  @Field(() => SafeIntScalar, { description: 'minor units' })
  purchaseRevenue!: number;
}

export { DateRangeInput } from '@loyalty/kit';

/** The rewards subgraph's Reward: analytics only knows its id. */
@ObjectType()
@Directive('@key(fields: "id", resolvable: false)')
export class Reward {
  @Field(() => ID)
  id!: string;
}

@ObjectType()
export class RewardStat {
  @Field(() => Reward)
  reward!: Reward;

  @Field(() => Int)
  redemptions!: number;

  @Field(() => SafeIntScalar)
  pointsSpent!: number;
}

@ObjectType()
export class StoreStat {
  @Field({ description: '"" for redemptions without a store (online)' })
  storeId!: string;

  @Field(() => Int)
  redemptions!: number;

  @Field(() => SafeIntScalar)
  pointsSpent!: number;
}

export enum Interval {
  DAY = 'DAY',
  WEEK = 'WEEK',
  MONTH = 'MONTH',
}
registerEnumType(Interval, { name: 'Interval' });

@ObjectType()
export class TimelinePoint {
  @Field({ description: 'start of the bucket (UTC; weeks start on Monday)' })
  start!: Date;

  @Field(() => SafeIntScalar)
  pointsIssued!: number;

  @Field(() => SafeIntScalar)
  pointsRedeemed!: number;

  @Field(() => SafeIntScalar)
  redemptions!: number;
}

@ObjectType()
export class CampaignPerformance {
  @Field(() => SafeIntScalar)
  pointsIssued!: number;

  @Field(() => Int, { description: 'distinct members who earned in the campaign' })
  members!: number;

  @Field(() => Int, { description: 'activities that earned in the campaign' })
  activities!: number;
}

/** The campaigns subgraph's Campaign, extended with its performance. */
@ObjectType()
@Directive('@key(fields: "id")')
export class Campaign {
  @Field(() => ID)
  id!: string;
}
