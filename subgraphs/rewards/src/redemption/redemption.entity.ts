import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** CANCELLING: the refund was asked for and is not yet confirmed (shown as COMPLETED until it is). */
export type RedemptionStatusValue = 'PENDING' | 'COMPLETED' | 'FAILED' | 'CANCELLING' | 'CANCELLED';

/** The statuses that hold a unit of stock and count towards `limitPerMember`, as an SQL list. */
export const HOLDING_STATUSES_SQL = "('PENDING', 'COMPLETED', 'CANCELLING')";

@Entity('redemptions')
export class RedemptionEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  tenant!: string;

  @Column('uuid', { name: 'member_id' })
  memberId!: string;

  @Column('uuid', { name: 'reward_id' })
  rewardId!: string;

  @Column('integer', { name: 'points_spent' })
  pointsSpent!: number;

  @Column('text')
  status!: RedemptionStatusValue;

  @Column('text', { nullable: true })
  code!: string | null;

  @Column('text', { name: 'store_id', nullable: true })
  storeId!: string | null;

  @Column('text', { nullable: true })
  channel!: string | null;

  @Column('text', { name: 'idempotency_key' })
  idempotencyKey!: string;

  @Column('text', { name: 'request_hash' })
  requestHash!: string;

  @Column('uuid', { name: 'transaction_id', nullable: true })
  transactionId!: string | null;

  @Column('text', { name: 'failure_code', nullable: true })
  failureCode!: string | null;

  /** False while the member gates (status, tier) wait for settlement: the member could not be read at reservation. */
  @Column('boolean', { name: 'member_checked' })
  memberChecked!: boolean;

  /** When the code stops being accepted at a till; null: until used. */
  @Column('timestamptz', { name: 'code_expires_at', nullable: true })
  codeExpiresAt!: Date | null;

  /** When a till took the code (once). */
  @Column('timestamptz', { name: 'fulfilled_at', nullable: true })
  fulfilledAt!: Date | null;

  @Column('text', { name: 'fulfilled_store_id', nullable: true })
  fulfilledStoreId!: string | null;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
