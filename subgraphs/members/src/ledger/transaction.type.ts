import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '@loyalty/kit';
import type { LedgerEntryEntity } from './ledger.entity';

export enum PointsTransactionType {
  EARN = 'EARN',
  REDEEM = 'REDEEM',
  EXPIRE = 'EXPIRE',
  ADJUST = 'ADJUST',
  REVERSAL = 'REVERSAL',
  TRANSFER = 'TRANSFER',
}
registerEnumType(PointsTransactionType, {
  name: 'PointsTransactionType',
  valuesConfig: {
    TRANSFER: {
      description:
        "points moved between two members (transferPoints): the sender's debit and the receiver's credit share one idempotency key; each one's reference is the other member's id",
    },
  },
});

@ObjectType({ description: 'One entry of the points ledger.' })
@Directive('@key(fields: "id")')
export class PointsTransaction {
  @Field(() => ID)
  id!: string;

  @Field(() => PointsTransactionType)
  type!: PointsTransactionType;

  @Field(() => Int, { description: 'signed: + credit, - debit' })
  points!: number;

  @Field(() => Int)
  balanceAfter!: number;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => String, { nullable: true, description: 'order id, redemption id, ...' })
  reference!: string | null;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'for credits that expire' })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'a pending credit: its points were held back until then (or until activated early)' })
  pendingUntil!: Date | null;

  /** Not exposed: used for cursors and for `member`-token checks. */
  memberId!: string;
  seq!: string;
}

export const toTransaction = (entry: LedgerEntryEntity): PointsTransaction => ({
  id: entry.id,
  type: PointsTransactionType[entry.type],
  points: entry.points,
  balanceAfter: entry.balanceAfter,
  reason: entry.reason,
  reference: entry.reference,
  createdAt: new Date(entry.createdAt),
  expiresAt: entry.expiresAt ? new Date(entry.expiresAt) : null,
  pendingUntil: entry.pendingUntil ? new Date(entry.pendingUntil) : null,
  memberId: entry.memberId,
  seq: String(entry.seq),
});

export const PointsTransactionConnection = ConnectionType('PointsTransaction', PointsTransaction);
export type PointsTransactionConnection = InstanceType<typeof PointsTransactionConnection>;
