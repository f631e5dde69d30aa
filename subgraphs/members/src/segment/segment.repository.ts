import type { DataSource, EntityManager } from 'typeorm';
import { pageOf, type RowsPage, type TimeIdCursor } from '@loyalty/kit';
import { entryTierSql } from '../tier/tier.repository';
import { SegmentEntity } from './segment.entity';
import { positional, segmentSql, type Param, type SegmentConditionsSpec, type SegmentFacts } from './segment.rule';

/**
 * The facts segment conditions read, one row per member of the tenant (`tenant`: its placeholder),
 * with the columns segment.rule.ts names: the effective tier is tier.rule.ts effectiveTier (the
 * recorded tier, else the entry tier, else the built-in base of rank 0).
 */
export const SEGMENT_FACTS_SQL = (tenant: string) => `
  SELECT m.id AS member_id, m.status, m.country, COALESCE(t.rank, e.rank, 0) AS tier_rank, m.attributes,
         a.lifetime_earned, m.enrolled_at, a.last_active_at
  FROM members m
  JOIN point_accounts a ON a.member_id = m.id
  LEFT JOIN tiers t ON t.id = m.tier_id AND t.tenant = m.tenant
  LEFT JOIN (${entryTierSql(tenant)}) e ON true
  WHERE m.tenant = ${tenant}`;

interface FactsRow {
  member_id: string;
  status: SegmentFacts['status'];
  country: string | null;
  tier_rank: number;
  attributes: Record<string, unknown>;
  lifetime_earned: number;
  enrolled_at: Date;
  last_active_at: Date | null;
}

interface SegmentRow {
  id: string;
  tenant: string;
  name: string;
  conditions: SegmentConditionsSpec;
  version: number;
  computed_version: number;
  created_at: Date;
  updated_at: Date;
}

const toSegment = (row: SegmentRow): SegmentEntity => ({
  id: row.id,
  tenant: row.tenant,
  name: row.name,
  conditions: row.conditions,
  version: row.version,
  computedVersion: row.computed_version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const COLUMNS = 'id, tenant, name, conditions, version, computed_version, created_at, updated_at';

/** A change of one member's membership in one segment. */
export interface MembershipChange {
  segmentId: string;
  memberId: string;
}

/** SQL about segments and who is in them. Every query is scoped to the tenant. */
export class SegmentRepository {
  constructor(private readonly db: DataSource) {}

  /** A page of the tenant's segments, oldest first, after a (created_at, id) cursor. */
  async list(tenant: string, first: number, after?: TimeIdCursor): Promise<RowsPage<SegmentEntity>> {
    const rows = await this.db.query<SegmentRow[]>(
      `SELECT ${COLUMNS} FROM segments WHERE tenant = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
       ORDER BY created_at, id LIMIT $4`,
      [tenant, after?.[0] ?? null, after?.[1] ?? null, first + 1],
    );
    return pageOf(rows.map(toSegment), first);
  }

  /** Every segment of the tenant (per-member refreshes and Member.segments evaluate them all). */
  async all(tenant: string, manager: EntityManager = this.db.manager): Promise<SegmentEntity[]> {
    return (await manager.query<SegmentRow[]>(`SELECT ${COLUMNS} FROM segments WHERE tenant = $1 ORDER BY created_at, id`, [tenant])).map(toSegment);
  }

  count(tenant: string): Promise<number> {
    return this.db.query<{ n: number }[]>('SELECT count(*)::int AS n FROM segments WHERE tenant = $1', [tenant]).then((rows) => rows[0]!.n);
  }

  async byIds(tenant: string, ids: readonly string[], manager: EntityManager = this.db.manager): Promise<SegmentEntity[]> {
    if (ids.length === 0) return [];
    return (await manager.query<SegmentRow[]>(`SELECT ${COLUMNS} FROM segments WHERE tenant = $1 AND id = ANY($2::uuid[])`, [tenant, ids])).map(toSegment);
  }

  async insert(manager: EntityManager, tenant: string, name: string, conditions: SegmentConditionsSpec): Promise<SegmentEntity> {
    const [row] = await manager.query<SegmentRow[]>(`INSERT INTO segments (tenant, name, conditions) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [tenant, name, JSON.stringify(conditions)]);
    return toSegment(row!);
  }

  /** The segment, row-locked until the transaction ends (a change and a recomputation queue behind each other). */
  async lock(manager: EntityManager, tenant: string, id: string): Promise<SegmentEntity | null> {
    const [row] = await manager.query<SegmentRow[]>(`SELECT ${COLUMNS} FROM segments WHERE tenant = $1 AND id = $2 FOR NO KEY UPDATE`, [tenant, id]);
    return row ? toSegment(row) : null;
  }

  /** Locks the segment unless another transaction (a replica's sweep) holds it: null then. */
  async tryLock(manager: EntityManager, id: string): Promise<SegmentEntity | null> {
    const [row] = await manager.query<SegmentRow[]>(`SELECT ${COLUMNS} FROM segments WHERE id = $1 FOR NO KEY UPDATE SKIP LOCKED`, [id]);
    return row ? toSegment(row) : null;
  }

  /** New name and conditions; a change of the conditions is a new version (to recompute). */
  async update(manager: EntityManager, tenant: string, id: string, name: string, conditions: SegmentConditionsSpec, changed: boolean): Promise<SegmentEntity> {
    const [rows] = await manager.query<[SegmentRow[], number]>(
      `UPDATE segments SET name = $3, conditions = $4, version = version + $5::int, updated_at = now() WHERE tenant = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [tenant, id, name, JSON.stringify(conditions), changed ? 1 : 0],
    );
    return toSegment(rows[0]!);
  }

  async delete(manager: EntityManager, tenant: string, id: string): Promise<void> {
    await manager.query('DELETE FROM segments WHERE tenant = $1 AND id = $2', [tenant, id]);
  }

  /**
   * Segments to sweep, of `tenant` (null: of every tenant), oldest first: those not yet computed for
   * their conditions, and those with a condition that `conditions` names (what changes without a
   * member's own refresh).
   */
  async sweepIds(tenant: string | null, conditions: readonly string[]): Promise<string[]> {
    const rows = await this.db.query<{ id: string }[]>(
      'SELECT id FROM segments WHERE ($1::text IS NULL OR tenant = $1) AND (computed_version < version OR conditions ?| $2::text[]) ORDER BY created_at, id',
      [tenant, conditions],
    );
    return rows.map((row) => row.id);
  }

  /** The facts of members of the tenant, by id (unknown ids are left out). */
  async facts(tenant: string, memberIds: readonly string[], manager: EntityManager = this.db.manager): Promise<Map<string, SegmentFacts>> {
    if (memberIds.length === 0) return new Map();
    const rows = await manager.query<FactsRow[]>(`SELECT f.* FROM (${SEGMENT_FACTS_SQL('$1')}) f WHERE f.member_id = ANY($2::uuid[])`, [tenant, memberIds]);
    return new Map(
      rows.map((row) => [
        row.member_id,
        {
          status: row.status,
          country: row.country,
          tierRank: Number(row.tier_rank),
          attributes: row.attributes,
          lifetimeEarned: Number(row.lifetime_earned),
          enrolledAt: new Date(row.enrolled_at),
          lastActiveAt: row.last_active_at ? new Date(row.last_active_at) : null,
        },
      ]),
    );
  }

  /** Exact member counts of segments at `now`, in one statement whatever their number. */
  async memberCounts(tenant: string, segments: readonly SegmentEntity[], now: Date): Promise<Map<string, number>> {
    if (segments.length === 0) return new Map();
    const params: unknown[] = [tenant];
    const param = positional(params);
    const counts = segments.map((segment) => `SELECT ${param(segment.id)}::uuid AS id, count(*) FILTER (WHERE ${segmentSql(segment.conditions, param, now)})::int AS n FROM facts f`);
    const rows = await this.db.query<{ id: string; n: number }[]>(`WITH facts AS MATERIALIZED (${SEGMENT_FACTS_SQL('$1')}) ${counts.join(' UNION ALL ')}`, params);
    return new Map(rows.map((row) => [row.id, row.n]));
  }

  /** Who is in the segments by the last refresh, of the given members. */
  async memberships(manager: EntityManager, tenant: string, memberIds: readonly string[]): Promise<MembershipChange[]> {
    const rows = await manager.query<{ segment_id: string; member_id: string }[]>(
      'SELECT segment_id, member_id FROM segment_members WHERE tenant = $1 AND member_id = ANY($2::uuid[])',
      [tenant, memberIds],
    );
    return rows.map((row) => ({ segmentId: row.segment_id, memberId: row.member_id }));
  }

  /**
   * Records entries and exits; returns those this transaction made (a concurrent refresh that made
   * the same one first made it, and sends its event).
   */
  async apply(manager: EntityManager, tenant: string, entered: MembershipChange[], left: MembershipChange[]): Promise<{ entered: MembershipChange[]; left: MembershipChange[] }> {
    const done = { entered: [] as MembershipChange[], left: [] as MembershipChange[] };
    if (entered.length > 0) {
      const rows = await manager.query<{ segment_id: string; member_id: string }[]>(
        `INSERT INTO segment_members (segment_id, member_id, tenant) SELECT s, m, $3 FROM unnest($1::uuid[], $2::uuid[]) AS x(s, m)
         ON CONFLICT DO NOTHING RETURNING segment_id, member_id`,
        [entered.map((c) => c.segmentId), entered.map((c) => c.memberId), tenant],
      );
      done.entered = rows.map((row) => ({ segmentId: row.segment_id, memberId: row.member_id }));
    }
    if (left.length > 0) {
      const [rows] = await manager.query<[{ segment_id: string; member_id: string }[], number]>(
        `DELETE FROM segment_members sm USING unnest($1::uuid[], $2::uuid[]) AS x(s, m)
         WHERE sm.segment_id = x.s AND sm.member_id = x.m AND sm.tenant = $3 RETURNING sm.segment_id, sm.member_id`,
        [left.map((c) => c.segmentId), left.map((c) => c.memberId), tenant],
      );
      done.left = rows.map((row) => ({ segmentId: row.segment_id, memberId: row.member_id }));
    }
    return done;
  }

  /**
   * Recomputes who is in a (locked) segment at `now`, set-based: the members who meet its
   * conditions and are not recorded enter, the recorded who no longer meet them leave. Returns the
   * ids of both and marks the segment computed for its version.
   */
  async recompute(manager: EntityManager, segment: SegmentEntity, now: Date): Promise<{ entered: string[]; left: string[] }> {
    const params: unknown[] = [segment.tenant, segment.id];
    const predicate = segmentSql(segment.conditions, positional(params), now);
    const [row] = await manager.query<{ entered: string[] | null; left: string[] | null }[]>(
      `WITH want AS MATERIALIZED (SELECT f.member_id FROM (${SEGMENT_FACTS_SQL('$1')}) f WHERE ${predicate}),
       gone AS (DELETE FROM segment_members sm WHERE sm.segment_id = $2 AND NOT EXISTS (SELECT 1 FROM want w WHERE w.member_id = sm.member_id)
                RETURNING sm.member_id),
       came AS (INSERT INTO segment_members (segment_id, member_id, tenant) SELECT $2, w.member_id, $1 FROM want w
                ON CONFLICT DO NOTHING RETURNING member_id)
       SELECT (SELECT array_agg(member_id) FROM came) AS entered, (SELECT array_agg(member_id) FROM gone) AS left`,
      params,
    );
    await manager.query('UPDATE segments SET computed_version = $2, computed_at = now() WHERE id = $1', [segment.id, segment.version]);
    return { entered: row?.entered ?? [], left: row?.left ?? [] };
  }

  /** The SQL condition "member `m` is in the segment" for a TypeORM query builder (`members(filter: { segmentId })`). */
  static memberFilter(segment: SegmentEntity, tenantParam: string, param: Param, now: Date): string {
    return `m.id IN (SELECT f.member_id FROM (${SEGMENT_FACTS_SQL(tenantParam)}) f WHERE ${segmentSql(segment.conditions, param, now)})`;
  }
}
