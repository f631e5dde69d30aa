import { ArrayMaxSize, ArrayUnique, IsInt, IsOptional, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';
import { ExpiryMode, ExpiryRounding, POLICY_LIMITS, TierDowngrade, defaultProgramPolicy } from './program.policy';

const DEFAULTS = defaultProgramPolicy();

// What one field can say is checked here; what depends on other fields (days for the mode,
// reminders below days) and the time zone are checked by program.service.ts, before anything is written.

@InputType({ description: 'A whole expiry policy: it replaces the current one' })
export class ExpiryPolicyInput {
  @Field(() => ExpiryMode, { description: 'NEVER, AFTER_DAYS or ROLLING' })
  mode!: ExpiryMode;

  @Field(() => Int, { nullable: true, description: `Required for AFTER_DAYS and ROLLING (1–${POLICY_LIMITS.maxExpiryDays}); not allowed for NEVER` })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(POLICY_LIMITS.maxExpiryDays)
  days?: number | null;

  @Field(() => ExpiryRounding, { nullable: true, defaultValue: DEFAULTS.expiry.roundTo, description: 'Only AFTER_DAYS expiry can be rounded' })
  roundTo?: ExpiryRounding | null;

  @Field(() => [Int], { nullable: true, defaultValue: [], description: `Days before expiry to remind members: each ≥ 1 and < days, no duplicates, at most ${POLICY_LIMITS.maxReminders}` })
  @IsOptional()
  @ArrayMaxSize(POLICY_LIMITS.maxReminders)
  @ArrayUnique({ message: 'reminderDays must not repeat a day' })
  @IsInt({ each: true })
  @Min(1, { each: true, message: 'each reminder day must be at least 1' })
  reminderDays?: number[] | null;
}

@InputType({ description: 'A whole tier policy: it replaces the current one; omitted fields take their defaults' })
export class TierPolicyInput {
  @Field(() => Int, { nullable: true, defaultValue: DEFAULTS.tierPolicy.windowMonths, description: `Months of EARN points a tier qualifies on (${POLICY_LIMITS.windowMonths.min}–${POLICY_LIMITS.windowMonths.max})` })
  @IsOptional()
  @IsInt()
  @Min(POLICY_LIMITS.windowMonths.min)
  @Max(POLICY_LIMITS.windowMonths.max)
  windowMonths?: number | null;

  @Field(() => TierDowngrade, { nullable: true, defaultValue: DEFAULTS.tierPolicy.downgrade, description: 'What happens to a member that no longer qualifies' })
  downgrade?: TierDowngrade | null;

  @Field(() => Int, { nullable: true, defaultValue: DEFAULTS.tierPolicy.graceDays, description: `Days a member keeps a tier it no longer qualifies for (${POLICY_LIMITS.graceDays.min}–${POLICY_LIMITS.graceDays.max})` })
  @IsOptional()
  @IsInt()
  @Min(POLICY_LIMITS.graceDays.min)
  @Max(POLICY_LIMITS.graceDays.max)
  graceDays?: number | null;
}

@InputType({ description: 'A whole transfer policy: it replaces the current one; an omitted or null limit is no limit' })
export class TransferPolicyInput {
  @Field(() => Int, { nullable: true, description: "Points one member may send to others per calendar day, in the program's time zone (at least 1); null: no limit" })
  @IsOptional()
  @IsInt()
  @Min(POLICY_LIMITS.transferLimit.min)
  @Max(POLICY_LIMITS.transferLimit.max)
  maxPointsPerDay?: number | null;

  @Field(() => Int, { nullable: true, description: "Transfers one member may send per calendar day, in the program's time zone (at least 1); null: no limit" })
  @IsOptional()
  @IsInt()
  @Min(POLICY_LIMITS.transferLimit.min)
  @Max(POLICY_LIMITS.transferLimit.max)
  maxTransfersPerDay?: number | null;
}

@InputType({ description: 'A change of the program policy: omitted parts stay as they are' })
export class ProgramInput {
  @Field(() => String, { nullable: true, description: 'An IANA time zone, e.g. "Europe/Warsaw"' })
  @IsOptional()
  @MaxLength(64)
  timeZone?: string | null;

  @Field(() => ExpiryPolicyInput, { nullable: true, description: 'The new expiry policy, whole' })
  @IsOptional()
  @ValidateNested()
  expiry?: ExpiryPolicyInput | null;

  @Field(() => TierPolicyInput, { nullable: true, description: 'The new tier policy, whole' })
  @IsOptional()
  @ValidateNested()
  tierPolicy?: TierPolicyInput | null;

  @Field(() => TransferPolicyInput, { nullable: true, description: 'The new transfer limits, whole' })
  @IsOptional()
  @ValidateNested()
  transfers?: TransferPolicyInput | null;
}
