import { Field, ID, Int, ObjectType } from 'type-graphql';
import { ConnectionType, JSONScalar } from '@loyalty/kit';
import type { SegmentEntity } from './segment.entity';
import type { SegmentConditionsSpec } from './segment.rule';

@ObjectType({ description: 'Who is in a segment: an ACTIVE member that meets every condition set here (an unset one holds).' })
export class SegmentConditions {
  @Field(() => [String], { nullable: true, description: 'members of one of these countries (ISO 3166-1 alpha-2)' })
  countries!: string[] | null;

  @Field(() => Int, { nullable: true, description: 'members whose tier has this rank or a higher one' })
  minTierRank!: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'members whose attributes have each of these names with an equal value' })
  attributeEquals!: Record<string, unknown> | null;

  @Field(() => Int, { nullable: true, description: 'members whose lifetimeEarned is at least this' })
  minLifetimeEarned!: number | null;

  @Field(() => Int, { nullable: true, description: 'members enrolled within the last this many days (of 24 hours)' })
  enrolledWithinDays!: number | null;

  @Field(() => Int, { nullable: true, description: 'members without an activity (earning or redeeming points) for at least this many days; never active: since enrolment' })
  inactiveForDays!: number | null;

  @Field(() => Int, { nullable: true, description: 'members with an activity (earning or redeeming points) within the last this many days' })
  activeWithinDays!: number | null;
}

@ObjectType({ description: 'A dynamic group of members, defined by conditions: members enter and leave it as their data, activity and time change.' })
export class Segment {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'unique in the tenant, case-insensitive' })
  name!: string;

  @Field(() => SegmentConditions)
  conditions!: SegmentConditions;

  // memberCount: SegmentResolver (exact now, batched).

  tenant!: string;
  /** The conditions as stored, for the resolvers. */
  spec!: SegmentConditionsSpec;
  createdAt!: Date;
}

export const toSegment = (entity: SegmentEntity): Segment => ({
  id: entity.id,
  name: entity.name,
  conditions: {
    countries: entity.conditions.countries ?? null,
    minTierRank: entity.conditions.minTierRank ?? null,
    attributeEquals: entity.conditions.attributeEquals ?? null,
    minLifetimeEarned: entity.conditions.minLifetimeEarned ?? null,
    enrolledWithinDays: entity.conditions.enrolledWithinDays ?? null,
    inactiveForDays: entity.conditions.inactiveForDays ?? null,
    activeWithinDays: entity.conditions.activeWithinDays ?? null,
  },
  tenant: entity.tenant,
  spec: entity.conditions,
  createdAt: new Date(entity.createdAt),
});

export const SegmentConnection = ConnectionType('Segment', Segment);
export type SegmentConnection = InstanceType<typeof SegmentConnection>;
