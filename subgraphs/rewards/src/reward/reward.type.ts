import { Directive, Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { IsInt, IsOptional, Min } from 'class-validator';
import { ConnectionType } from '@loyalty/kit';
import type { RewardEntity } from './reward.entity';

export enum RewardType {
  PRODUCT = 'PRODUCT',
  DISCOUNT = 'DISCOUNT',
  FREE_SHIPPING = 'FREE_SHIPPING',
  GIFT_CARD = 'GIFT_CARD',
  CASHBACK = 'CASHBACK',
  EXPERIENCE = 'EXPERIENCE',
}
registerEnumType(RewardType, { name: 'RewardType' });

@ObjectType({ description: 'An item of the reward catalog.' })
@Directive('@key(fields: "id")')
export class Reward {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => RewardType)
  type!: RewardType;

  @Field(() => Int)
  costPoints!: number;

  @Field(() => Int, { nullable: true, description: 'null = unlimited' })
  stock!: number | null;

  @Field(() => Int, { nullable: true, description: 'null = every tier' })
  minTierRank!: number | null;

  @Field(() => Int, { nullable: true })
  limitPerMember!: number | null;

  @Field(() => [ID], { nullable: true, description: 'for members in any of these segments only; null = every member (a deleted segment holds nobody)' })
  segmentIds!: string[] | null;

  @Field(() => Int, { nullable: true, description: 'Days a redemption code stays valid at the till; null: until used' })
  codeValidDays!: number | null;

  @Field(() => Date, { nullable: true })
  validFrom!: Date | null;

  @Field(() => Date, { nullable: true })
  validUntil!: Date | null;

  @Field()
  active!: boolean;

  createdAt!: Date;
}

export const toReward = (entity: RewardEntity): Reward => ({
  id: entity.id,
  name: entity.name,
  description: entity.description,
  type: RewardType[entity.type as keyof typeof RewardType],
  costPoints: entity.costPoints,
  stock: entity.stock,
  minTierRank: entity.minTierRank,
  limitPerMember: entity.limitPerMember,
  segmentIds: entity.segmentIds ?? null,
  codeValidDays: entity.codeValidDays,
  validFrom: entity.validFrom,
  validUntil: entity.validUntil,
  active: entity.active,
  createdAt: entity.createdAt,
});

@InputType()
export class RewardFilter {
  @Field(() => RewardType, { nullable: true })
  type?: RewardType | null;

  @Field(() => Boolean, { nullable: true, defaultValue: true })
  activeOnly?: boolean | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  maxCostPoints?: number | null;
}

export const RewardConnection = ConnectionType('Reward', Reward);
export type RewardConnection = InstanceType<typeof RewardConnection>;
