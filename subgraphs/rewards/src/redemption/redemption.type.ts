import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '@loyalty/kit';
import type { RedemptionEntity, RedemptionStatusValue } from './redemption.entity';

export enum RedemptionStatus {
  PENDING = 'PENDING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(RedemptionStatus, { name: 'RedemptionStatus' });

@ObjectType({ description: 'A reward redeemed by a member.' })
@Directive('@key(fields: "id")')
export class Redemption {
  @Field(() => ID)
  id!: string;

  @Field(() => Int)
  pointsSpent!: number;

  @Field(() => RedemptionStatus)
  status!: RedemptionStatus;

  @Field(() => String, { nullable: true, description: 'unique code to present in store (offline redemption)' })
  code!: string | null;

  @Field(() => String, { nullable: true })
  storeId!: string | null;

  @Field(() => String, { nullable: true })
  channel!: string | null;

  @Field(() => Date, { nullable: true, description: 'When the code stops being accepted at a till (from the reward’s codeValidDays); null: until used' })
  codeExpiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When a till fulfilled the code (fulfilRedemption); null: not yet' })
  fulfilledAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'The store that fulfilled the code, when it said' })
  fulfilledStoreId!: string | null;

  @Field()
  createdAt!: Date;

  memberId!: string;
  rewardId!: string;
}

/**
 * A cancellation whose refund members has not confirmed yet is still a COMPLETED redemption to
 * clients (the public status set stays as documented); it turns CANCELLED once the refund is booked.
 */
const publicStatus = (status: RedemptionStatusValue): RedemptionStatus =>
  status === 'CANCELLING' ? RedemptionStatus.COMPLETED : RedemptionStatus[status];

/** The stored statuses a public status stands for (the inverse of `publicStatus`). */
export const storedStatuses = (statuses: readonly RedemptionStatus[]): RedemptionStatusValue[] =>
  [...new Set(statuses)].flatMap((status): RedemptionStatusValue[] => (status === RedemptionStatus.COMPLETED ? ['COMPLETED', 'CANCELLING'] : [status]));

/** What `Member.redemptions` lists unless asked otherwise: every attempt that did not fail. */
export const DEFAULT_LISTED_STATUSES = [RedemptionStatus.PENDING, RedemptionStatus.COMPLETED, RedemptionStatus.CANCELLED];

export const toRedemption = (entity: RedemptionEntity): Redemption => ({
  id: entity.id,
  pointsSpent: entity.pointsSpent,
  status: publicStatus(entity.status),
  code: entity.code,
  storeId: entity.storeId,
  channel: entity.channel,
  codeExpiresAt: entity.codeExpiresAt ? new Date(entity.codeExpiresAt) : null,
  fulfilledAt: entity.fulfilledAt ? new Date(entity.fulfilledAt) : null,
  fulfilledStoreId: entity.fulfilledStoreId,
  createdAt: new Date(entity.createdAt),
  memberId: entity.memberId,
  rewardId: entity.rewardId,
});

export const RedemptionConnection = ConnectionType('Redemption', Redemption);
export type RedemptionConnection = InstanceType<typeof RedemptionConnection>;
