import { Directive, Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { TierLevel } from './tier.rule';

@ObjectType({ description: "A level of a tenant's program; members hold the highest tier they qualify for." })
@Directive('@key(fields: "id")')
export class Tier {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => Int, { description: '0 = base' })
  rank!: number;

  @Field(() => Int, { description: "EARN points (net of returns) of the qualification window (the program's tierPolicy.windowMonths) needed to hold the tier" })
  qualifyingPoints!: number;

  @Field(() => Float, { description: 'Applied to every earning rule for members of this tier' })
  earnMultiplier!: number;
}

export const toTier = (tier: TierLevel): Tier => ({
  id: tier.id,
  name: tier.name,
  rank: tier.rank,
  qualifyingPoints: tier.qualifyingPoints,
  earnMultiplier: tier.earnMultiplier,
});

@ObjectType()
export class TierProgress {
  @Field(() => Tier)
  current!: Tier;

  @Field(() => Tier, { nullable: true })
  next!: Tier | null;

  @Field(() => Int, { description: "EARN points (net of returns) of the qualification window (the program's tierPolicy.windowMonths)" })
  qualifyingPoints!: number;

  @Field(() => Int, { nullable: true, description: 'null at the top tier' })
  pointsToNext!: number | null;

  @Field(() => Date, { nullable: true, description: 'The end of a grace period: the member keeps `current` until then though it no longer qualifies; else null' })
  retainedUntil!: Date | null;
}
