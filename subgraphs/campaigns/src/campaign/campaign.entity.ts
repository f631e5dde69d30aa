import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { ExperimentSpec } from '../experiment/experiment.rule';
import type { EligibilitySpec, RuleSpec } from '../rules/rules';

@Entity('campaigns')
export class CampaignEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  tenant!: string;

  @Column('text')
  name!: string;

  @Column('text', { nullable: true })
  description!: string | null;

  /** Stored lifecycle; ENDED is derived from `endsAt`, never stored (campaign.status.ts). */
  @Column('text')
  status!: 'DRAFT' | 'ACTIVE' | 'PAUSED';

  @Column('timestamptz', { name: 'starts_at', nullable: true })
  startsAt!: Date | null;

  @Column('timestamptz', { name: 'ends_at', nullable: true })
  endsAt!: Date | null;

  @Column('text', { name: 'time_zone' })
  timeZone!: string;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;

  @Column('jsonb')
  rules!: RuleSpec[];

  @Column('jsonb', { nullable: true })
  eligibility!: EligibilitySpec | null;

  /** The A/B test the campaign runs, or null (experiment/experiment.rule.ts). */
  @Column('jsonb', { nullable: true })
  experiment!: ExperimentSpec | null;
  /** Higher applies first; ties: the older campaign first (rules.ts, stackingOrder). */
  @Column('integer')
  priority!: number;

  /** Once it awards points for an activity, no campaign after it in stacking order does. */
  @Column('boolean')
  exclusive!: boolean;

  @Column('integer', { name: 'max_points', nullable: true })
  maxPoints!: number | null;

  /** Points awarded so far, reserved in the same transaction that stores an activity (bigint: far below 2^53). */
  @Column('bigint', { name: 'points_issued', transformer: { to: (value: number) => value, from: (value: string) => Number(value) } })
  pointsIssued!: number;
}
