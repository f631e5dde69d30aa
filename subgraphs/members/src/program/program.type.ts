import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ExpiryMode, ExpiryRounding, TierDowngrade, type ProgramPolicy } from './program.policy';

registerEnumType(ExpiryMode, {
  name: 'ExpiryMode',
  description: 'When earned points expire',
  valuesConfig: {
    NEVER: { description: 'Points never expire' },
    AFTER_DAYS: { description: 'Each credit expires `days` after it was earned, rounded up as `roundTo` says' },
    ROLLING: { description: "All of a member's points expire `days` after its last EARN or REDEEM" },
  },
});

registerEnumType(ExpiryRounding, {
  name: 'ExpiryRounding',
  description: "Where an AFTER_DAYS expiry is moved to, in the program's time zone",
  valuesConfig: {
    NONE: { description: 'Exactly `days` after the credit' },
    END_OF_MONTH: { description: 'The first instant of the month after the one that holds that moment' },
    END_OF_QUARTER: { description: 'The first instant of the quarter after the one that holds that moment' },
    END_OF_YEAR: { description: 'The first instant of the year after the one that holds that moment' },
  },
});

registerEnumType(TierDowngrade, {
  name: 'TierDowngrade',
  description: 'What happens to a member that no longer qualifies for its tier, once any grace period is over',
  valuesConfig: {
    NEVER: { description: 'It keeps the tier' },
    ONE_LEVEL: { description: 'It goes down one rank per review' },
    TO_QUALIFIED: { description: 'It goes to the highest tier it qualifies for (the entry tier at least)' },
  },
});

@ObjectType({ description: "When a program's points expire and when members are reminded" })
export class ExpiryPolicy {
  @Field(() => ExpiryMode, { description: 'NEVER (the default), AFTER_DAYS or ROLLING' })
  mode!: ExpiryMode;

  @Field(() => Int, { nullable: true, description: 'Days until points expire; null when mode is NEVER' })
  days!: number | null;

  @Field(() => ExpiryRounding, { description: 'Where an AFTER_DAYS expiry is rounded up to; NONE otherwise' })
  roundTo!: ExpiryRounding;

  @Field(() => [Int], { description: "Days before a lot's expiry that its member is reminded (`POINTS_EXPIRING`), most first" })
  reminderDays!: number[];
}

@ObjectType({ description: 'How tiers are qualified for and kept' })
export class TierPolicy {
  @Field(() => Int, { description: 'Months of EARN points (net of returns) a tier qualifies on, counted back from today' })
  windowMonths!: number;

  @Field(() => TierDowngrade, { description: 'What happens to a member that no longer qualifies for its tier' })
  downgrade!: TierDowngrade;

  @Field(() => Int, { description: 'Days a member keeps a tier it no longer qualifies for before the downgrade (TierProgress.retainedUntil)' })
  graceDays!: number;
}

@ObjectType({ description: 'How much one member may send to other members per calendar day (transferPoints)' })
export class TransferPolicy {
  @Field(() => Int, { nullable: true, description: "Points one member may send per calendar day, in the program's time zone; null: no limit (the default)" })
  maxPointsPerDay!: number | null;

  @Field(() => Int, { nullable: true, description: "Transfers one member may send per calendar day, in the program's time zone; null: no limit (the default)" })
  maxTransfersPerDay!: number | null;
}

@ObjectType({ description: "A tenant's program policy: expiry, reminders, tier reviews and transfer limits. A tenant that never set one has the defaults." })
export class Program {
  @Field({ description: 'IANA time zone that days, months, quarters and years are counted in (default "UTC")' })
  timeZone!: string;

  @Field(() => ExpiryPolicy, { description: 'When points expire (default: never)' })
  expiry!: ExpiryPolicy;

  @Field(() => TierPolicy, { description: 'How tiers are reviewed (default: 12 months, TO_QUALIFIED, no grace)' })
  tierPolicy!: TierPolicy;

  @Field(() => TransferPolicy, { description: 'Daily limits on what a member may send to others (default: none)' })
  transfers!: TransferPolicy;
}

/** The policy as clients see it: fields picked one by one, so nothing stored leaks by accident. */
export const toProgram = (policy: ProgramPolicy): Program => ({
  timeZone: policy.timeZone,
  expiry: {
    mode: policy.expiry.mode,
    days: policy.expiry.days,
    roundTo: policy.expiry.roundTo,
    reminderDays: [...policy.expiry.reminderDays],
  },
  tierPolicy: {
    windowMonths: policy.tierPolicy.windowMonths,
    downgrade: policy.tierPolicy.downgrade,
    graceDays: policy.tierPolicy.graceDays,
  },
  transfers: {
    maxPointsPerDay: policy.transfers.maxPointsPerDay,
    maxTransfersPerDay: policy.transfers.maxTransfersPerDay,
  },
});
