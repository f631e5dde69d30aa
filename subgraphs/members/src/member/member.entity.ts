import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('members')
export class MemberEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  tenant!: string;

  /** Null once erased. */
  @Column('text', { nullable: true })
  email!: string | null;

  @Column('text', { nullable: true })
  name!: string | null;

  @Column('char', { length: 2, nullable: true })
  country!: string | null;

  @Column('text', { name: 'external_id', nullable: true })
  externalId!: string | null;

  @Column('jsonb')
  attributes!: Record<string, unknown>;

  @Column('text')
  status!: 'ACTIVE' | 'SUSPENDED' | 'ERASED';

  @Column('uuid', { name: 'tier_id', nullable: true })
  tierId!: string | null;

  /** The end of a grace period: the member keeps `tierId` until then though it no longer qualifies. */
  @Column('timestamptz', { name: 'tier_retained_until', nullable: true })
  tierRetainedUntil!: Date | null;

  @Column('timestamptz', { name: 'enrolled_at' })
  enrolledAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;

  @Column('boolean', { name: 'consent_marketing_email' })
  consentMarketingEmail!: boolean;

  @Column('boolean', { name: 'consent_marketing_sms' })
  consentMarketingSms!: boolean;

  @Column('boolean', { name: 'consent_marketing_push' })
  consentMarketingPush!: boolean;

  @Column('timestamptz', { name: 'consents_updated_at', nullable: true })
  consentsUpdatedAt!: Date | null;

  /** The code this member hands to friends (XXXX-XXXX, unique per tenant). */
  @Column('text', { name: 'referral_code' })
  referralCode!: string;

  /** The member whose code it enrolled with; set once, at enrolment. */
  @Column('uuid', { name: 'referred_by', nullable: true })
  referredBy!: string | null;
}
