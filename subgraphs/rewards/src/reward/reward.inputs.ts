import { ArrayMaxSize, IsIn, IsInt, IsOptional, IsUUID, Max, MaxLength, Min, MinLength } from 'class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { RewardType } from './reward.type';

@InputType()
export class RewardInput {
  @Field()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2000)
  description?: string | null;

  @Field(() => RewardType)
  @IsIn(Object.values(RewardType))
  type!: RewardType;

  @Field(() => Int)
  @IsInt()
  @Min(1, { message: 'must be at least 1' })
  @Max(100_000_000)
  costPoints!: number;

  @Field(() => Int, { nullable: true, description: 'null = unlimited' })
  @IsOptional()
  @IsInt()
  @Min(0, { message: 'must not be negative' })
  stock?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  minTierRank?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  limitPerMember?: number | null;

  @Field(() => [ID], { nullable: true, description: 'for members in any of these segments only (up to 50; each must exist); empty or null: every member' })
  @IsOptional()
  @ArrayMaxSize(50)
  @IsUUID('all', { each: true, message: 'segmentIds are segment ids' })
  segmentIds?: string[] | null;

  @Field(() => Int, { nullable: true, description: 'Days a redemption code stays valid at the till (1–3650); null: until used' })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'must be at least 1' })
  @Max(3650, { message: 'must be at most 3650' })
  codeValidDays?: number | null;

  @Field(() => Date, { nullable: true })
  validFrom?: Date | null;

  @Field(() => Date, { nullable: true })
  validUntil?: Date | null;

  @Field(() => Boolean, { nullable: true, defaultValue: true })
  active?: boolean | null;
}
