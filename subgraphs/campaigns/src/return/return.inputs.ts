import { IsInt, IsUUID, MaxLength, MinLength } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';

@InputType()
export class ReturnInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'must be a member id' })
  memberId!: string;

  @Field({ description: "the PURCHASE activity's orderId" })
  @MinLength(1, { message: 'is required' })
  @MaxLength(100)
  orderId!: string;

  @Field(() => Int, { description: 'the amount returned, minor units (at most what is left of the order)' })
  @IsInt()
  amount!: number;

  @Field()
  @MinLength(1, { message: 'is required' })
  @MaxLength(200)
  idempotencyKey!: string;
}
