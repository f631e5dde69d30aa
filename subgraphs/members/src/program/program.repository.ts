import type { DataSource, EntityManager } from 'typeorm';
import type { ExpiryMode, ExpiryRounding, ProgramPolicy, TierDowngrade } from './program.policy';

/** A `programs` row as pg returns it (int[] comes back as number[]). */
interface ProgramRow {
  time_zone: string;
  expiry_mode: ExpiryMode;
  expiry_days: number | null;
  expiry_round_to: ExpiryRounding;
  reminder_days: number[];
  tier_window_months: number;
  tier_downgrade: TierDowngrade;
  tier_grace_days: number;
  transfer_max_points_per_day: number | null;
  transfer_max_per_day: number | null;
}

const COLUMNS =
  'time_zone, expiry_mode, expiry_days, expiry_round_to, reminder_days, tier_window_months, tier_downgrade, tier_grace_days, transfer_max_points_per_day, transfer_max_per_day';

const toPolicy = (row: ProgramRow): ProgramPolicy => ({
  timeZone: row.time_zone,
  expiry: { mode: row.expiry_mode, days: row.expiry_days, roundTo: row.expiry_round_to, reminderDays: row.reminder_days },
  tierPolicy: { windowMonths: row.tier_window_months, downgrade: row.tier_downgrade, graceDays: row.tier_grace_days },
  transfers: { maxPointsPerDay: row.transfer_max_points_per_day, maxTransfersPerDay: row.transfer_max_per_day },
});

/** The columns of a policy, in COLUMNS order, after the tenant ($1). */
const values = (tenant: string, policy: ProgramPolicy) => [
  tenant,
  policy.timeZone,
  policy.expiry.mode,
  policy.expiry.days,
  policy.expiry.roundTo,
  policy.expiry.reminderDays,
  policy.tierPolicy.windowMonths,
  policy.tierPolicy.downgrade,
  policy.tierPolicy.graceDays,
  policy.transfers.maxPointsPerDay,
  policy.transfers.maxTransfersPerDay,
];

/** SQL about program policies and their change log. Every query is scoped to the tenant. */
export class ProgramRepository {
  constructor(private readonly db: DataSource) {}

  /** The tenant's stored policy; undefined when it never set one. */
  async find(tenant: string, manager: EntityManager = this.db.manager): Promise<ProgramPolicy | undefined> {
    const [row] = await manager.query<ProgramRow[]>(`SELECT ${COLUMNS} FROM programs WHERE tenant = $1`, [tenant]);
    return row && toPolicy(row);
  }

  /**
   * The tenant's policy, locked until the transaction ends. A tenant without a row gets one with
   * `defaults` first: inserting takes the lock even when two first changes race (the second waits
   * on the first's row, then reads what it committed).
   */
  async lock(manager: EntityManager, tenant: string, defaults: ProgramPolicy): Promise<ProgramPolicy> {
    await manager.query(`INSERT INTO programs (tenant, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (tenant) DO NOTHING`, values(tenant, defaults));
    const [row] = await manager.query<ProgramRow[]>(`SELECT ${COLUMNS} FROM programs WHERE tenant = $1 FOR UPDATE`, [tenant]);
    return toPolicy(row!);
  }

  async save(manager: EntityManager, tenant: string, policy: ProgramPolicy): Promise<void> {
    await manager.query(
      `UPDATE programs SET (${COLUMNS}, updated_at) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now()) WHERE tenant = $1`,
      values(tenant, policy),
    );
  }

  /** Appends to the tenant's change log (append-only: the table refuses UPDATE and DELETE). */
  async recordChange(manager: EntityManager, tenant: string, actor: string, before: ProgramPolicy, after: ProgramPolicy): Promise<void> {
    await manager.query('INSERT INTO program_changes (tenant, actor, before, after) VALUES ($1, $2, $3, $4)', [tenant, actor, before, after]);
  }
}
