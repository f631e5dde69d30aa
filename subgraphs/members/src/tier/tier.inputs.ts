import { IsInt, Max, MaxLength, Min, MinLength } from 'class-validator';
import { Field, Float, InputType, Int } from 'type-graphql';

@InputType()
export class TierInput {
  @Field()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @Field(() => Int, { description: "A tenant's tiers are keyed by rank: upserting a rank replaces that tier" })
  @IsInt()
  @Min(0)
  @Max(100)
  rank!: number;

  @Field(() => Int)
  @IsInt()
  @Min(0)
  qualifyingPoints!: number;

  @Field(() => Float)
  @Min(0.01, { message: 'must be greater than 0' })
  @Max(100)
  earnMultiplier!: number;
}
