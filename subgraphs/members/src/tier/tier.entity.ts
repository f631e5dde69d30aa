import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('tiers')
export class TierEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  tenant!: string;

  @Column('text')
  name!: string;

  @Column('integer')
  rank!: number;

  @Column('integer', { name: 'qualifying_points' })
  qualifyingPoints!: number;

  /** numeric comes back from pg as a string; the transformer keeps the entity honest. */
  @Column('numeric', { name: 'earn_multiplier', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  earnMultiplier!: number;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt!: Date;
}
