import {
  ArrayMaxSize,
  ArrayMinSize,
  IsInt,
  IsOptional,
  IsUUID,
  IsPositive,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { JSONScalar } from '@loyalty/kit';
import { ActivityType, CapPeriod, PointsCalculation } from './campaign.type';

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;

@InputType()
export class HappyHourInput {
  @Field(() => [Int], { description: '1 = Monday … 7 = Sunday' })
  @ArrayMinSize(1)
  @ArrayMaxSize(7)
  @IsInt({ each: true })
  @Min(1, { each: true, message: 'days are 1 (Monday) to 7 (Sunday)' })
  @Max(7, { each: true, message: 'days are 1 (Monday) to 7 (Sunday)' })
  daysOfWeek!: number[];

  @Field()
  @Matches(HH_MM, { message: 'must be HH:MM' })
  startTime!: string;

  @Field()
  @Matches(HH_MM, { message: 'must be HH:MM' })
  endTime!: string;

  @Field(() => Float)
  @IsPositive({ message: 'must be greater than 0' })
  @Max(100)
  multiplier!: number;
}

@InputType()
export class EarningRuleInput {
  @Field()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @Field(() => ActivityType)
  trigger!: ActivityType;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MinLength(1)
  @MaxLength(100)
  eventName?: string | null;

  @Field(() => PointsCalculation)
  calculation!: PointsCalculation;

  @Field(() => Int)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  points!: number;

  @Field(() => Int, { nullable: true, defaultValue: 100 })
  @IsOptional()
  @IsInt()
  @Min(1)
  amountStep?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  minOrderAmount?: number | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  maxPointsPerMember?: number | null;

  @Field(() => CapPeriod, { nullable: true, defaultValue: CapPeriod.LIFETIME })
  capPeriod?: CapPeriod | null;

  @Field(() => [HappyHourInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  happyHours?: HappyHourInput[] | null;

  @Field(() => Int, { nullable: true, defaultValue: 0, description: 'PURCHASE: days the points stay pending (not spendable), 0–365' })
  @IsOptional()
  @IsInt()
  @Min(0, { message: 'pendingDays must be 0 to 365' })
  @Max(365, { message: 'pendingDays must be 0 to 365' })
  pendingDays?: number | null;
}

@InputType()
export class EligibilityInput {
  @Field(() => [String], { nullable: true })
  @IsOptional()
  @Matches(/^[A-Za-z]{2}$/, { each: true, message: 'countries are ISO 3166-1 alpha-2 codes' })
  countries?: string[] | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  minTierRank?: number | null;

  @Field(() => JSONScalar, { nullable: true })
  attributeEquals?: Record<string, unknown> | null;

  @Field(() => [ID], { nullable: true, description: 'members in any of these segments (up to 50; each must exist); empty or null: no restriction' })
  @IsOptional()
  @ArrayMaxSize(50)
  @IsUUID('all', { each: true, message: 'segmentIds are segment ids' })
  segmentIds?: string[] | null;
}

@InputType()
export class CampaignBudgetInput {
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  maxPoints?: number | null;
}

@InputType({ description: 'One arm of an experiment: its own earning rules, instead of the campaign\'s, for its share of members' })
export class ExperimentVariantInput {
  @Field({ description: 'Unique in the experiment; 1–40 letters, digits, "_" or "-"; HOLDOUT and BASE are reserved' })
  key!: string;

  @Field(() => Int, { description: 'Relative share of the non-holdout members, 1–100 (1 and 1 split them in halves)' })
  weight!: number;

  @Field(() => [EarningRuleInput], { description: 'What members of this arm earn by, validated like the campaign\'s rules' })
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  rules!: EarningRuleInput[];
}

@InputType({ description: 'Runs the campaign as an A/B test: a holdout that gets nothing from it, and variants with their own rules' })
export class ExperimentInput {
  @Field(() => Int, { nullable: true, defaultValue: 0, description: 'Percent of members (0–100) in the control arm HOLDOUT, who get nothing from this campaign' })
  holdoutPercent?: number | null;

  @Field(() => [ExperimentVariantInput], { nullable: true, defaultValue: [], description: 'Without variants the campaign\'s own rules are the one arm BASE' })
  @IsOptional()
  @ValidateNested({ each: true })
  variants?: ExperimentVariantInput[] | null;
}

@InputType()
export class CampaignInput {
  @Field()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(2000)
  description?: string | null;

  @Field(() => Date, { nullable: true })
  startsAt?: Date | null;

  @Field(() => Date, { nullable: true })
  endsAt?: Date | null;

  @Field(() => String, { nullable: true, description: 'IANA zone, default "UTC"' })
  @IsOptional()
  @MaxLength(64)
  timeZone?: string | null;

  @Field(() => [EarningRuleInput])
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  rules!: EarningRuleInput[];

  @Field(() => EligibilityInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  eligibility?: EligibilityInput | null;

  @Field(() => CampaignBudgetInput, { nullable: true })
  @IsOptional()
  @ValidateNested()
  budget?: CampaignBudgetInput | null;

  @Field(() => ExperimentInput, {
    nullable: true,
    description: 'Run the campaign as an A/B test. Its holdout and weights are frozen once it has started; leave it out after promoteVariant ended it',
  })
  @IsOptional()
  @ValidateNested()
  experiment?: ExperimentInput | null;
  @Field(() => Int, { nullable: true, defaultValue: 0, description: 'Stacking order: higher applies first (-1000 to 1000); equal priorities apply oldest campaign first' })
  @IsOptional()
  @IsInt()
  @Min(-1000, { message: 'priority must be -1000 to 1000' })
  @Max(1000, { message: 'priority must be -1000 to 1000' })
  priority?: number | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Once it awards points for an activity, no campaign after it in stacking order does' })
  @IsOptional()
  exclusive?: boolean | null;
}
