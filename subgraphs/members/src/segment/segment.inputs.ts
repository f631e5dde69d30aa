import { IsOptional, IsUUID, MaxLength, MinLength } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { JSONScalar } from '@loyalty/kit';

// The conditions are checked by segment.rule.ts checkConditions (one home for their limits).
@InputType({ description: 'The conditions of a segment; leave out (or null) those that should not restrict it.' })
export class SegmentConditionsInput {
  @Field(() => [String], { nullable: true, description: 'members of one of these countries: 1 to 250 ISO 3166-1 alpha-2 codes' })
  countries?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'members whose tier has this rank (0 to 100) or a higher one' })
  minTierRank?: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'an object of 1 to 20 attribute names and the values they must equal' })
  attributeEquals?: Record<string, unknown> | null;

  @Field(() => Int, { nullable: true, description: 'members whose lifetimeEarned is at least this (0 or more)' })
  minLifetimeEarned?: number | null;

  @Field(() => Int, { nullable: true, description: 'members enrolled within the last this many days (1 to 3650)' })
  enrolledWithinDays?: number | null;

  @Field(() => Int, { nullable: true, description: 'members without an activity for at least this many days (1 to 3650; less than activeWithinDays)' })
  inactiveForDays?: number | null;

  @Field(() => Int, { nullable: true, description: 'members with an activity within the last this many days (1 to 3650)' })
  activeWithinDays?: number | null;
}

@InputType({ description: 'A new segment (no id), or the new name and conditions of one (its id).' })
export class SegmentInput {
  @Field(() => ID, { nullable: true, description: 'the segment to change; omitted: a new segment' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a segment id' })
  id?: string | null;

  @Field({ description: '1 to 100 characters, unique in the tenant (case-insensitive)' })
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @Field(() => SegmentConditionsInput)
  conditions!: SegmentConditionsInput;
}
