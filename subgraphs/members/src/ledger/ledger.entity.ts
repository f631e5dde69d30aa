import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export type EntryType = 'EARN' | 'REDEEM' | 'EXPIRE' | 'ADJUST' | 'REVERSAL' | 'TRANSFER';

/** One movement of points. Append-only: the database refuses UPDATE and DELETE. */
@Entity('ledger_entries')
export class LedgerEntryEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** Insertion order: the order of a member's history and of its pagination cursor. */
  @Column('bigint')
  seq!: string;

  @Column('text')
  tenant!: string;

  @Column('uuid', { name: 'member_id' })
  memberId!: string;

  @Column('text')
  type!: EntryType;

  @Column('integer')
  points!: number;

  @Column('integer', { name: 'balance_after' })
  balanceAfter!: number;

  @Column('text', { nullable: true })
  reason!: string | null;

  @Column('text', { nullable: true })
  reference!: string | null;

  @Column('text')
  source!: string;

  @Column('text', { name: 'idempotency_key' })
  idempotencyKey!: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt!: Date | null;

  /** A pending credit: until when its points wait (they activate then, or earlier on request). */
  @Column('timestamptz', { name: 'pending_until', nullable: true })
  pendingUntil!: Date | null;

  /** The order a credit was earned on, or a return's debit takes back (activation and returns by order). */
  @Column('text', { name: 'order_id', nullable: true })
  orderId!: string | null;
}

/** The maintained balance: reading a balance is one primary-key lookup. */
@Entity('point_accounts')
export class PointAccountEntity {
  @PrimaryColumn('uuid', { name: 'member_id' })
  memberId!: string;

  @Column('text')
  tenant!: string;

  @Column('integer')
  balance!: number;

  @Column('integer')
  pending!: number;

  @Column('integer', { name: 'lifetime_earned' })
  lifetimeEarned!: number;
}
