import type { DataSource, EntityManager } from 'typeorm';
import {
  ConflictError,
  NotFoundError,
  appendOutbox,
  parseId,
  timeIdPage,
  uniqueViolation,
  type AuditLog,
  type Identity,
  type Logger,
  type OutgoingEvent,
} from '@loyalty/kit';
import type { SegmentEntity } from './segment.entity';
import type { SegmentInput } from './segment.inputs';
import type { MembershipChange, SegmentRepository } from './segment.repository';
import { SWEPT_CONDITIONS, checkConditions, inSegment, type SegmentConditionsSpec } from './segment.rule';
import { SegmentConnection, toSegment, type Segment } from './segment.type';

/** Events are written in chunks: a recomputation of a large segment may move 100,000 members. */
const EVENT_CHUNK = 5000;

const event = (type: 'SEGMENT_ENTERED' | 'SEGMENT_LEFT', tenant: string, change: MembershipChange): OutgoingEvent => ({
  type,
  tenant,
  key: change.memberId,
  payload: { segmentId: change.segmentId, memberId: change.memberId },
});

async function appendInChunks(manager: EntityManager, events: OutgoingEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += EVENT_CHUNK) await appendOutbox(manager, events.slice(i, i + EVENT_CHUNK));
}

/** The view of a segment that audit entries keep. */
const auditView = (segment: SegmentEntity) => ({ name: segment.name, conditions: segment.conditions });

/**
 * Dynamic segments. Who is in a segment is decided by its conditions (segment.rule.ts) at the
 * moment of asking (`memberCount`, `Member.segments`, the member snapshot). `segment_members`
 * records who was in it at the last refresh, so that entering and leaving become events:
 *  - `refreshMembers`, in the transaction of every change to a member's facts (enrolment, profile,
 *    status, erasure, a ledger move), re-evaluates that member's segments;
 *  - `recompute`, after a segment's conditions change, recomputes the whole segment set-based;
 *  - `sweep`, periodically, recomputes the segments whose conditions change without a member's own
 *    refresh: time passing (enrolledWithinDays, inactiveForDays, activeWithinDays) and tiers
 *    (minTierRank: reviews move them in bulk), and any segment whose recomputation failed.
 */
export class SegmentService {
  constructor(
    private readonly db: DataSource,
    private readonly repository: SegmentRepository,
    private readonly audit: AuditLog,
    private readonly log: Logger,
  ) {}

  async list(identity: Identity, first: number, after?: string | null): Promise<SegmentConnection> {
    const page = await timeIdPage(first, after, {
      read: (size, cursor) => this.repository.list(identity.tenant, size, cursor),
      toNode: toSegment,
      keyOf: (segment) => [segment.createdAt, segment.id],
      count: () => this.repository.count(identity.tenant),
    });
    return SegmentConnection.from(page);
  }

  async get(identity: Identity, id: string, field = 'id'): Promise<Segment | null> {
    const [segment] = await this.repository.byIds(identity.tenant, [parseId(id, field)]);
    return segment ? toSegment(segment) : null;
  }

  /** The segment, or NOT_FOUND naming `field` (members(filter: { segmentId })). */
  async getOrFail(tenant: string, id: string, field: string): Promise<SegmentEntity> {
    const [segment] = await this.repository.byIds(tenant, [parseId(id, field)]);
    if (!segment) throw new NotFoundError('Segment', field);
    return segment;
  }

  /** The ids among `ids` that name segments of the tenant (campaigns and rewards check their segmentIds). */
  async known(tenant: string, ids: readonly string[]): Promise<string[]> {
    return (await this.repository.byIds(tenant, ids)).map((segment) => segment.id);
  }

  /**
   * Creates or changes a segment (audited). A change of conditions recomputes the segment's
   * membership right after the commit; should that fail, the next sweep does it.
   */
  async upsert(identity: Identity, input: SegmentInput): Promise<Segment> {
    const conditions = checkConditions({ ...input.conditions });
    const name = input.name.trim();
    const saved = await this.db
      .transaction(async (manager) => {
        if (!input.id) {
          const created = await this.repository.insert(manager, identity.tenant, name, conditions);
          await this.audit.record(manager, identity, { action: 'upsertSegment', targetType: 'Segment', targetId: created.id, after: auditView(created) });
          return created;
        }
        const before = await this.repository.lock(manager, identity.tenant, parseId(input.id, 'id'));
        if (!before) throw new NotFoundError('Segment', 'id');
        const changed = JSON.stringify(canonical(before.conditions)) !== JSON.stringify(canonical(conditions));
        const after = await this.repository.update(manager, identity.tenant, before.id, name, conditions, changed);
        await this.audit.record(manager, identity, { action: 'upsertSegment', targetType: 'Segment', targetId: after.id, before: auditView(before), after: auditView(after) });
        return after;
      })
      .catch((error: unknown) => {
        if (uniqueViolation(error) === 'segments_tenant_name') throw new ConflictError('name', 'A segment with this name already exists');
        throw error;
      });
    if (saved.computedVersion < saved.version) {
      void this.recompute(saved.id).catch((error: unknown) => this.log.error({ err: error, segmentId: saved.id }, 'segment recomputation failed; the next sweep recomputes it'));
    }
    return toSegment(saved);
  }

  /**
   * Deletes a segment (audited). Its members get no SEGMENT_LEFT: the segment is gone, not left.
   * Campaigns and rewards that name it reach nobody through it from then on.
   */
  async delete(identity: Identity, id: string): Promise<Segment> {
    const segmentId = parseId(id, 'id');
    const deleted = await this.db.transaction(async (manager) => {
      const before = await this.repository.lock(manager, identity.tenant, segmentId);
      if (!before) throw new NotFoundError('Segment', 'id');
      await this.repository.delete(manager, identity.tenant, segmentId);
      await this.audit.record(manager, identity, { action: 'deleteSegment', targetType: 'Segment', targetId: segmentId, before: auditView(before) });
      return before;
    });
    return toSegment(deleted);
  }

  /** Exact member counts now, of any number of segments in one statement (the memberCount loader). */
  memberCounts(tenant: string, segments: readonly Segment[]): Promise<Map<string, number>> {
    return this.repository.memberCounts(
      tenant,
      segments.map((s) => ({ id: s.id, conditions: s.spec }) as SegmentEntity),
      new Date(),
    );
  }

  /** The segments each member is in now (Member.segments, the member snapshot), in the segments' order. */
  async segmentsOf(tenant: string, memberIds: readonly string[], manager?: EntityManager): Promise<Map<string, SegmentEntity[]>> {
    const result = new Map<string, SegmentEntity[]>(memberIds.map((id) => [id, []]));
    const segments = await this.repository.all(tenant, manager);
    if (segments.length === 0 || memberIds.length === 0) return result;
    const facts = await this.repository.facts(tenant, memberIds, manager);
    const now = new Date();
    for (const [memberId, member] of facts) result.set(memberId, segments.filter((segment) => inSegment(segment.conditions, member, now)));
    return result;
  }

  /**
   * In the transaction of a change to these members' facts (their rows or accounts locked by it):
   * records the segments they entered and left, with their events.
   */
  async refreshMembers(manager: EntityManager, tenant: string, memberIds: readonly string[]): Promise<void> {
    const segments = await this.repository.all(tenant, manager);
    if (segments.length === 0) return;
    const [facts, recorded] = await Promise.all([this.repository.facts(tenant, memberIds, manager), this.repository.memberships(manager, tenant, memberIds)]);
    const isRecorded = new Set(recorded.map((c) => `${c.segmentId}|${c.memberId}`));
    const now = new Date();
    const entered: MembershipChange[] = [];
    const left: MembershipChange[] = [];
    for (const memberId of memberIds) {
      const member = facts.get(memberId);
      for (const segment of segments) {
        const inIt = member !== undefined && inSegment(segment.conditions, member, now);
        const was = isRecorded.has(`${segment.id}|${memberId}`);
        if (inIt && !was) entered.push({ segmentId: segment.id, memberId });
        if (!inIt && was) left.push({ segmentId: segment.id, memberId });
      }
    }
    const done = await this.repository.apply(manager, tenant, entered, left);
    await appendOutbox(manager, [...done.left.map((c) => event('SEGMENT_LEFT', tenant, c)), ...done.entered.map((c) => event('SEGMENT_ENTERED', tenant, c))]);
  }

  /**
   * Recomputes one segment's membership now, in one transaction with its events. A segment another
   * replica is recomputing is skipped (false): that one is doing it.
   */
  async recompute(segmentId: string): Promise<{ entered: number; left: number } | false> {
    return this.db.transaction(async (manager) => {
      const segment = await this.repository.tryLock(manager, segmentId);
      if (!segment) return false;
      const { entered, left } = await this.repository.recompute(manager, segment, new Date());
      await appendInChunks(manager, [
        ...left.map((memberId) => event('SEGMENT_LEFT', segment.tenant, { segmentId, memberId })),
        ...entered.map((memberId) => event('SEGMENT_ENTERED', segment.tenant, { segmentId, memberId })),
      ]);
      return { entered: entered.length, left: left.length };
    });
  }

  /**
   * Recomputes, one transaction each, the segments of `tenant` (null: of every tenant) that
   * per-member refreshes do not keep current (SWEPT_CONDITIONS), and any not yet computed for its
   * conditions (a recomputation after upsertSegment that failed).
   */
  async sweep(tenant: string | null): Promise<{ segments: number; entered: number; left: number }> {
    const total = { segments: 0, entered: 0, left: 0 };
    for (const id of await this.repository.sweepIds(tenant, SWEPT_CONDITIONS)) {
      const outcome = await this.recompute(id);
      if (!outcome) continue;
      total.segments += 1;
      total.entered += outcome.entered;
      total.left += outcome.left;
    }
    return total;
  }
}

/** The conditions with their keys in one order, to tell a change from the same conditions resent. */
function canonical(conditions: SegmentConditionsSpec): unknown {
  const sort = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sort)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, sort((value as Record<string, unknown>)[key])]))
        : value;
  return sort(conditions);
}
