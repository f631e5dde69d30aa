import { IsInt, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { MAX_POINTS_PER_MOVE } from '@loyalty/kit';

@InputType({ description: "A move of spendable points from one member to another member of the tenant" })
export class TransferInput {
  @Field(() => ID, { description: 'The sending member: a member token may only send its own points' })
  @IsUUID('all', { message: 'must be a member id' })
  fromMemberId!: string;

  @Field(() => ID, { description: 'The receiving member: another ACTIVE member of the tenant' })
  @IsUUID('all', { message: 'must be a member id' })
  toMemberId!: string;

  @Field(() => Int, { description: `The points to move: at least 1, at most ${MAX_POINTS_PER_MOVE}, within the program's daily transfer limits` })
  @IsInt()
  @Min(1, { message: 'must be at least 1' })
  @Max(MAX_POINTS_PER_MOVE)
  points!: number;

  @Field({ description: 'Makes a retry safe: the same key with the same input answers the first result, with another input IDEMPOTENCY_CONFLICT' })
  @MinLength(1, { message: 'is required' })
  @MaxLength(200)
  idempotencyKey!: string;
}
