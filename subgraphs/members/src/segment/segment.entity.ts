import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { SegmentConditionsSpec } from './segment.rule';

/** A tenant's segment: members that meet its conditions (segment.rule.ts). */
@Entity('segments')
export class SegmentEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  tenant!: string;

  @Column('text')
  name!: string;

  @Column('jsonb')
  conditions!: SegmentConditionsSpec;

  /** Counts changes of the conditions; `computedVersion` is the one `segment_members` was recomputed for. */
  @Column('integer')
  version!: number;

  @Column('integer', { name: 'computed_version' })
  computedVersion!: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
