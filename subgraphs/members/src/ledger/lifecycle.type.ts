import { Field, Int, ObjectType } from 'type-graphql';
import { SafeIntScalar } from '@loyalty/kit';
import { Member } from '../member/member.type';

@ObjectType({ description: 'The next points of a member to expire' })
export class PointsExpiry {
  @Field(() => Int, { description: 'spendable points that expire at `expiresAt`' })
  points!: number;

  @Field({ description: 'the soonest instant some of the spendable points expire' })
  expiresAt!: Date;
}

@ObjectType({ description: 'What activatePendingPoints made spendable' })
export class ActivationResult {
  @Field(() => Int, { description: 'pending points that became spendable now (0 when there were none)' })
  pointsActivated!: number;

  @Field(() => Member)
  member!: Member;
}

@ObjectType({ description: 'What one maintenance run did for the tenant' })
export class MaintenanceRun {
  @Field(() => Int, { description: 'points booked as EXPIRE entries' })
  pointsExpired!: number;

  @Field(() => Int, { description: 'pending points whose time was over, made spendable' })
  pointsActivated!: number;

  @Field(() => Int, { description: 'members whose tier the review changed' })
  tiersChanged!: number;

  @Field(() => Int, { description: 'POINTS_EXPIRING reminders sent (one per lot and reminder day)' })
  remindersSent!: number;
}

@ObjectType({ description: 'Spendable points that expire within a number of days from now' })
export class LiabilityDue {
  @Field(() => Int, { description: 'the days from now the figure covers' })
  withinDays!: number;

  @Field(() => SafeIntScalar, { description: 'spendable points whose expiry falls within those days' })
  points!: number;
}

@ObjectType({ description: "What the tenant's program owes its members now, from the points ledger" })
export class PointsLiability {
  @Field(() => SafeIntScalar, { description: 'spendable points of every member: expired points are out even before the maintenance job books them, pending points are out' })
  spendable!: number;

  @Field(() => SafeIntScalar, { description: 'points still pending (not spendable, not yet a liability)' })
  pending!: number;

  @Field(() => [LiabilityDue], { description: 'the spendable points due to expire within each of the requested day counts, in their order' })
  expiring!: LiabilityDue[];
}
