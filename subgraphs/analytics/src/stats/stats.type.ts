import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

@ObjectType({ description: "Headline numbers of a tenant's program" })
export class ProgramStats {
  @Field(() => Int, { description: 'members enrolled up to the end of the range' })
  members!: number;

  @Field(() => Int, { description: 'members who earned, redeemed or were credited within the range' })
  activeMembers!: number;

  @Field(() => Int, { description: 'EARN and net ADJUST points within the range' })
  pointsIssued!: number;

  @Field(() => Int, { description: 'REDEEM points within the range, less reversals' })
  pointsRedeemed!: number;

  @Field(() => Int)
  pointsExpired!: number;

  @Field(() => Int, { description: 'the sum of member balances at the end of the range' })
  pointsOutstanding!: number;

  @Field(() => Int, { description: 'completed redemptions within the range, less cancellations' })
  redemptions!: number;

  @Field(() => Int, { description: 'minor units' })
  purchaseRevenue!: number;
}

@InputType()
export class DateRangeInput {
  @Field(() => Date, { nullable: true })
  from?: Date | null;

  @Field(() => Date, { nullable: true })
  to?: Date | null;
}

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

  @Field(() => Int)
  pointsSpent!: number;
}

@ObjectType()
export class StoreStat {
  @Field({ description: '"" for redemptions without a store (online)' })
  storeId!: string;

  @Field(() => Int)
  redemptions!: number;

  @Field(() => Int)
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

  @Field(() => Int)
  pointsIssued!: number;

  @Field(() => Int)
  pointsRedeemed!: number;

  @Field(() => Int)
  redemptions!: number;
}

@ObjectType()
export class CampaignPerformance {
  @Field(() => Int)
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
