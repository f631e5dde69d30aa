import { IsOptional, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { ActivityType } from '../campaign/campaign.type';

@InputType()
export class ActivityInput {
  @Field(() => ID)
  @IsUUID('all', { message: 'must be a member id' })
  memberId!: string;

  @Field(() => ActivityType)
  type!: ActivityType;

  @Field(() => Int, { nullable: true, description: 'PURCHASE: order total in minor units' })
  amount?: number | null;

  @Field(() => String, { nullable: true, description: 'ISO 4217' })
  @IsOptional()
  @Matches(/^[A-Za-z]{3}$/, { message: 'must be an ISO 4217 code' })
  currency?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  orderId?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  storeId?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(50)
  channel?: string | null;

  @Field(() => String, { nullable: true, description: 'CUSTOM_EVENT' })
  @IsOptional()
  @MaxLength(100)
  eventName?: string | null;

  @Field(() => Date, { nullable: true, description: 'default now' })
  occurredAt?: Date | null;

  @Field()
  @MinLength(1, { message: 'is required' })
  @MaxLength(200)
  idempotencyKey!: string;
}
