import { Directive, Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { TierEntity } from './tier.entity';

@ObjectType({ description: "A level of a tenant's program; members hold the highest tier they qualify for." })
@Directive('@key(fields: "id")')
export class Tier {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => Int, { description: '0 = base' })
  rank!: number;

  @Field(() => Int, { description: 'Points earned in the last 12 months needed to hold the tier' })
  qualifyingPoints!: number;

  @Field(() => Float, { description: 'Applied to every earning rule for members of this tier' })
  earnMultiplier!: number;
}

/** A tenant without tiers still answers `Member.tier`: a built-in base tier. */
export const BASE_TIER: Tier = { id: 'base', name: 'Base', rank: 0, qualifyingPoints: 0, earnMultiplier: 1 };

export const toTier = (entity: TierEntity): Tier => ({
  id: entity.id,
  name: entity.name,
  rank: entity.rank,
  qualifyingPoints: entity.qualifyingPoints,
  earnMultiplier: entity.earnMultiplier,
});

@ObjectType()
export class TierProgress {
  @Field(() => Tier)
  current!: Tier;

  @Field(() => Tier, { nullable: true })
  next!: Tier | null;

  @Field(() => Int, { description: 'EARN points of the last 12 months' })
  qualifyingPoints!: number;

  @Field(() => Int, { nullable: true, description: 'null at the top tier' })
  pointsToNext!: number | null;
}
