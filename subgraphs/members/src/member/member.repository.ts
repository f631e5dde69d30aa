import { findByIdsInKeyOrder } from '@loyalty/kit';
import type { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { SPENDABLE_BALANCE_SQL } from '../ledger/ledger.repository';
import type { SegmentEntity } from '../segment/segment.entity';
import { SegmentRepository } from '../segment/segment.repository';
import { entryTierSql } from '../tier/tier.repository';
import { MemberEntity } from './member.entity';
import { EMAIL_KEY_SQL, MemberOrder, ORDERS, type MemberCursor } from './member.search';
import type { ReferralLink } from './referral.rule';

export interface MemberListQuery {
  tenant: string;
  email?: string | null;
  externalId?: string | null;
  tierId?: string | null;
  country?: string | null;
  status?: string | null;
  /** A LIKE pattern, wildcards of the user escaped (member.search.ts). */
  emailLike?: string;
  nameLike?: string;
  /** Members in this segment now. */
  segment?: SegmentEntity;
  order: MemberOrder;
  first: number;
  after?: MemberCursor;
}

export type MemberCountQuery = Omit<MemberListQuery, 'first' | 'after' | 'order'>;

/** SQL about members. Every query is scoped to the tenant. */
export class MemberRepository {
  constructor(private readonly db: DataSource) {}

  /** Batch for DataLoader: one statement for any number of ids, results in the order of `ids`. */
  findByIds(tenant: string, ids: readonly string[]): Promise<(MemberEntity | null)[]> {
    return findByIdsInKeyOrder(this.db.getRepository(MemberEntity), tenant, ids);
  }

  /** Members with their balance, in one statement (the services' member snapshot). */
  async withBalances(tenant: string, ids: readonly string[]): Promise<{ member: MemberEntity; balance: number }[]> {
    const rows = await this.db
      .getRepository(MemberEntity)
      .createQueryBuilder('m')
      .innerJoin('point_accounts', 'a', 'a.member_id = m.id')
      .addSelect(SPENDABLE_BALANCE_SQL('a'), 'balance')
      .where('m.tenant = :tenant AND m.id = ANY(:ids)', { tenant, ids })
      .getRawAndEntities<{ m_id: string; balance: number }>();
    const balances = new Map(rows.raw.map((row) => [row.m_id, Number(row.balance)]));
    return rows.entities.map((member) => ({ member, balance: balances.get(member.id) ?? 0 }));
  }

  private filtered(query: MemberCountQuery) {
    const qb = this.db.getRepository(MemberEntity).createQueryBuilder('m').where('m.tenant = :tenant', { tenant: query.tenant });
    if (query.email) qb.andWhere('lower(m.email) = lower(:email)', { email: query.email });
    if (query.externalId) qb.andWhere('m.external_id = :externalId', { externalId: query.externalId });
    if (query.tierId) {
      // A member enrolled before the tenant had tiers has none recorded and stands on the entry tier.
      qb.andWhere(`(m.tier_id = :tierId OR (m.tier_id IS NULL AND :tierId = (SELECT entry.id FROM (${entryTierSql(':tenant')}) entry)))`, {
        tierId: query.tierId,
      });
    }
    if (query.country) qb.andWhere('m.country = :country', { country: query.country.toUpperCase() });
    if (query.status) qb.andWhere('m.status = :status', { status: query.status });
    // The same expression as the index (tenant, email key, id): a prefix is a range of that index.
    if (query.emailLike) qb.andWhere(`m.email IS NOT NULL AND ${EMAIL_KEY_SQL('m')} LIKE :emailLike`, { emailLike: query.emailLike });
    // The trigram index on lower(name) answers this (migration 1763800000015).
    if (query.nameLike) qb.andWhere('lower(m.name) LIKE :nameLike', { nameLike: query.nameLike });
    if (query.segment) {
      const params: Record<string, unknown> = {};
      const param = (value: unknown) => {
        const name = `segment${Object.keys(params).length}`;
        params[name] = value;
        return `:${name}`;
      };
      qb.andWhere(SegmentRepository.memberFilter(query.segment, ':tenant', param, new Date()), params);
    }
    return qb;
  }

  /**
   * Keyset page in `query.order`, ties by id; fetches one extra row to learn whether there is a
   * next page. Each row comes with its sort key, read from SQL, for its cursor.
   */
  async list(query: MemberListQuery): Promise<{ rows: { member: MemberEntity; key: string }[]; hasNextPage: boolean }> {
    const { key, direction, keyPart } = ORDERS[query.order];
    const qb = this.filtered(query).addSelect(key('m'), 'sort_key');
    if (query.after) {
      // A row comparison: the index on (…, key, id) starts right after the cursor, in either direction.
      qb.andWhere(`(${key('m')}, m.id) ${direction === 'ASC' ? '>' : '<'} (:afterKey, :afterId)`, { afterKey: query.after.key, afterId: query.after.id });
    }
    const { entities, raw } = await qb
      .orderBy(key('m'), direction)
      .addOrderBy('m.id', direction)
      .limit(query.first + 1)
      .getRawAndEntities<{ m_id: string; sort_key: string }>();
    const keys = new Map(raw.map((row) => [row.m_id, row.sort_key]));
    const rows = entities.slice(0, query.first).map((member) => ({
      member,
      key: keyPart === 'timestamp' ? member.enrolledAt.toISOString() : keys.get(member.id)!,
    }));
    return { rows, hasNextPage: entities.length > query.first };
  }

  count(query: MemberCountQuery): Promise<number> {
    return this.filtered(query).getCount();
  }

  async insert(manager: EntityManager, member: Partial<MemberEntity>): Promise<MemberEntity> {
    const [row] = (await manager
      .createQueryBuilder()
      .insert()
      .into(MemberEntity)
      .values(member as QueryDeepPartialEntity<MemberEntity>)
      .returning('*')
      .execute()
      .then((result) => result.generatedMaps)) as MemberEntity[];
    const created = await manager.getRepository(MemberEntity).findOneByOrFail({ id: row!.id });
    await manager.query('INSERT INTO point_accounts (member_id, tenant) VALUES ($1, $2)', [created.id, created.tenant]);
    return created;
  }

  /**
   * The member that hands out `code`, unless erased; share-locked until the transaction ends, so
   * it cannot be erased while a member is linked to it.
   */
  async lockReferrer(manager: EntityManager, tenant: string, code: string): Promise<MemberEntity | null> {
    return manager
      .getRepository(MemberEntity)
      .createQueryBuilder('m')
      .where("m.tenant = :tenant AND m.referral_code = :code AND m.status <> 'ERASED'", { tenant, code })
      .setLock('pessimistic_read')
      .getOne();
  }

  /**
   * The referral chain from `memberId` up (the member, the member that referred it, …), in that
   * order, at most `limit` long. Links are only ever made to older members, so the chain ends;
   * the path guard stops it even on data that says otherwise.
   */
  async referralChain(manager: EntityManager, tenant: string, memberId: string, limit: number): Promise<ReferralLink[]> {
    const rows = await manager.query<{ id: string; email: string | null; external_id: string | null }[]>(
      `WITH RECURSIVE chain (id, email, external_id, referred_by, depth, path) AS (
         SELECT id, email, external_id, referred_by, 1, ARRAY[id] FROM members WHERE tenant = $1 AND id = $2
         UNION ALL
         SELECT m.id, m.email, m.external_id, m.referred_by, c.depth + 1, c.path || m.id
         FROM chain c JOIN members m ON m.tenant = $1 AND m.id = c.referred_by
         WHERE c.depth < $3 AND NOT m.id = ANY(c.path)
       )
       SELECT id, email, external_id FROM chain ORDER BY depth`,
      [tenant, memberId, limit],
    );
    return rows.map((row) => ({ id: row.id, email: row.email, externalId: row.external_id }));
  }

  async find(manager: EntityManager, tenant: string, id: string): Promise<MemberEntity | null> {
    return manager.getRepository(MemberEntity).findOneBy({ tenant, id });
  }

  /** Sets the given consents and records the change; false when the tenant has no such member. */
  async setConsents(manager: EntityManager, tenant: string, memberId: string, changes: Record<string, boolean>, actor: string): Promise<boolean> {
    const [, changed] = await manager.query<[unknown[], number]>(
      `UPDATE members SET consent_marketing_email = COALESCE($3, consent_marketing_email), consent_marketing_sms = COALESCE($4, consent_marketing_sms),
              consent_marketing_push = COALESCE($5, consent_marketing_push), consents_updated_at = now(), updated_at = now()
       WHERE tenant = $1 AND id = $2`,
      [tenant, memberId, changes.marketingEmail ?? null, changes.marketingSms ?? null, changes.marketingPush ?? null],
    );
    if (changed === 0) return false;
    await manager.query('INSERT INTO consent_changes (tenant, member_id, changes, actor) VALUES ($1, $2, $3, $4)', [tenant, memberId, JSON.stringify(changes), actor]);
    return true;
  }

  /** The member, row-locked until the transaction ends (changes of one member queue behind each other). */
  async lock(manager: EntityManager, tenant: string, id: string): Promise<MemberEntity | null> {
    return manager.getRepository(MemberEntity).findOne({ where: { tenant, id }, lock: { mode: 'pessimistic_write' } });
  }

  async update(manager: EntityManager, tenant: string, id: string, changes: Partial<MemberEntity>): Promise<MemberEntity | null> {
    const repository = manager.getRepository(MemberEntity);
    await repository.update({ tenant, id }, { ...changes, updatedAt: new Date() } as QueryDeepPartialEntity<MemberEntity>);
    return repository.findOneBy({ tenant, id });
  }

  /**
   * Closes the member's account to new moves, taking its lock first as every move of points does
   * (account, then member row: one lock order, no deadlock with a move that changes the tier).
   */
  async closeAccount(manager: EntityManager, tenant: string, id: string): Promise<void> {
    await manager.query('UPDATE point_accounts SET closed = true WHERE member_id = $1 AND tenant = $2', [id, tenant]);
  }

  /** Removes the personal data, sets ERASED, and opens the erasure with this service's confirmation. */
  async erase(manager: EntityManager, tenant: string, id: string, requestedBy: string, service: string): Promise<MemberEntity> {
    await manager.query(
      `UPDATE members SET email = NULL, name = NULL, external_id = NULL, attributes = '{}', status = 'ERASED',
              consent_marketing_email = false, consent_marketing_sms = false, consent_marketing_push = false,
              consents_updated_at = now(), updated_at = now()
       WHERE tenant = $1 AND id = $2`,
      [tenant, id],
    );
    await manager.query(
      `INSERT INTO member_erasures (member_id, tenant, requested_by, confirmations) VALUES ($1, $2, $3, jsonb_build_object($4::text, now()))`,
      [id, tenant, requestedBy, service],
    );
    return (await this.find(manager, tenant, id))!;
  }

  /** Records a service's confirmation; completes the erasure once every one of `services` confirmed. False: no such erasure. */
  async confirmErasure(tenant: string, memberId: string, service: string, services: readonly string[]): Promise<boolean> {
    const [, changed] = await this.db.query<[unknown[], number]>(
      `UPDATE member_erasures SET confirmations = confirmations || jsonb_build_object($3::text, now()),
              completed_at = CASE WHEN (confirmations || jsonb_build_object($3::text, now())) ?& $4::text[] THEN COALESCE(completed_at, now()) END
       WHERE tenant = $1 AND member_id = $2`,
      [tenant, memberId, service, services],
    );
    return changed > 0;
  }

  /** Erasures of members by id (batch for DataLoader). */
  async erasures(tenant: string, ids: readonly string[]): Promise<Map<string, { requestedAt: Date; completedAt: Date | null; confirmedBy: string[] }>> {
    const rows = await this.db.query<{ member_id: string; requested_at: Date; completed_at: Date | null; confirmed_by: string[] }[]>(
      `SELECT member_id, requested_at, completed_at, ARRAY(SELECT jsonb_object_keys(confirmations) ORDER BY 1) AS confirmed_by
       FROM member_erasures WHERE tenant = $1 AND member_id = ANY($2::uuid[])`,
      [tenant, ids],
    );
    return new Map(rows.map((row) => [row.member_id, { requestedAt: row.requested_at, completedAt: row.completed_at, confirmedBy: row.confirmed_by }]));
  }
}
