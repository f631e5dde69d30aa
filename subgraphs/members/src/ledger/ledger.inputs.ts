import { IsInt, IsUUID, Max, MaxLength, Min, MinLength, NotEquals } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { MAX_POINTS_PER_MOVE } from '@loyalty/kit';

@InputType()
export class AdjustPointsInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'must be a member id' })
  memberId!: string;

  @Field(() => Int, { description: 'positive to credit, negative to debit; never 0' })
  @IsInt()
  @NotEquals(0, { message: 'must not be 0' })
  @Min(-MAX_POINTS_PER_MOVE)
  @Max(MAX_POINTS_PER_MOVE)
  points!: number;

  @Field()
  @MinLength(1, { message: 'is required' })
  @MaxLength(500)
  reason!: string;

  @Field()
  @MinLength(1, { message: 'is required' })
  @MaxLength(200)
  idempotencyKey!: string;
}
