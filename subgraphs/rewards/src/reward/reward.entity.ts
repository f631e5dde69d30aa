import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('rewards')
export class RewardEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  tenant!: string;

  @Column('text')
  name!: string;

  @Column('text', { nullable: true })
  description!: string | null;

  @Column('text')
  type!: string;

  @Column('integer', { name: 'cost_points' })
  costPoints!: number;

  @Column('integer', { nullable: true })
  stock!: number | null;

  @Column('integer', { name: 'min_tier_rank', nullable: true })
  minTierRank!: number | null;

  /** Members in any of these segments only; null: every member. */
  @Column('uuid', { name: 'segment_ids', array: true, nullable: true })
  segmentIds!: string[] | null;

  /** Days a redemption's code stays valid; null: until used. */
  @Column('integer', { name: 'code_valid_days', nullable: true })
  codeValidDays!: number | null;

  @Column('integer', { name: 'limit_per_member', nullable: true })
  limitPerMember!: number | null;

  @Column('timestamptz', { name: 'valid_from', nullable: true })
  validFrom!: Date | null;

  @Column('timestamptz', { name: 'valid_until', nullable: true })
  validUntil!: Date | null;

  @Column('boolean')
  active!: boolean;

  /** Has codes imported (addRewardCodes): its redemptions take their codes from the pool, and an empty pool is out of stock. */
  @Column('boolean', { name: 'code_pool' })
  codePool!: boolean;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;
}
