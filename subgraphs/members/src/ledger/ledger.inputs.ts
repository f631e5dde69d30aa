import { IsInt, IsOptional, IsUUID, Max, MaxLength, Min, MinLength, NotEquals } from 'class-validator';
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

  @Field(() => Date, { nullable: true, description: "credits only: when these points expire (must lie in the future); else the program's expiry policy decides" })
  expiresAt?: Date | null;
}

@InputType({ description: "Which of a member's pending points to make spendable now" })
export class ActivatePendingInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'must be a member id' })
  memberId!: string;

  @Field(() => String, { nullable: true, description: "one order's pending points; omitted: all of the member's pending points" })
  @IsOptional()
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(200)
  orderId?: string | null;
}
