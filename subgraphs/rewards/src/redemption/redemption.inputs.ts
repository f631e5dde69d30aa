import { IsOptional, IsUUID, MaxLength, MinLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class RedeemRewardInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'must be a member id' })
  memberId!: string;

  @Field(() => ID)
  @IsUUID('all', { message: 'must be a reward id' })
  rewardId!: string;

  @Field()
  @MinLength(1, { message: 'is required' })
  @MaxLength(200)
  idempotencyKey!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  storeId?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(50)
  channel?: string | null;
}
