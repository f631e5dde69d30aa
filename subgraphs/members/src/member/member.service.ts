import type { DataSource, EntityManager } from 'typeorm';
import {
  BadInputError,
  ConflictError,
  NotFoundError,
  appendOutbox,
  redactAuditEntries,
  type AuditLog,
  pageSize,
  parseId,
  readableCode,
  requireMemberAccess,
  uniqueViolation,
  type Identity,
} from '@loyalty/kit';
import { access } from '../access';
import type { Loaders } from '../context';
import type { SegmentService } from '../segment/segment.service';
import type { TierService } from '../tier/tier.service';
import type { MemberEntity } from './member.entity';
import type { ConsentInput, EnrollMemberInput, MemberFilter, UpdateMemberInput } from './member.inputs';
import type { MemberRepository } from './member.repository';
import { decodeMemberCursor, encodeMemberCursor, searchPatterns, type MemberOrder } from './member.search';
import { MemberConnection, toMember, type Member } from './member.type';
import { REFERRAL_CODE_LENGTH, normalizeReferralCode, referralRefusal, type ReferralIdentity } from './referral.rule';

const MAX_ATTRIBUTE_KEYS = 50;
const MAX_ATTRIBUTES_BYTES = 4096;

function checkAttributes(attributes: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(attributes);
  if (keys.length > MAX_ATTRIBUTE_KEYS) throw new BadInputError('attributes', `attributes may hold at most ${MAX_ATTRIBUTE_KEYS} keys`);
  if (keys.some((key) => key.length === 0 || key.length > 64)) throw new BadInputError('attributes', 'attribute names must be 1 to 64 characters');
  if (Buffer.byteLength(JSON.stringify(attributes)) > MAX_ATTRIBUTES_BYTES) {
    throw new BadInputError('attributes', `attributes must not exceed ${MAX_ATTRIBUTES_BYTES} bytes of JSON`);
  }
  return attributes;
}

/** A member as audit entries show it before and after a change (personal fields are redacted on erasure). */
const auditView = (member: MemberEntity) => ({
  email: member.email,
  name: member.name,
  country: member.country,
  externalId: member.externalId,
  attributes: member.attributes,
  status: member.status,
  referredBy: member.referredBy,
});

/** How far up a referral chain enrolment looks for the enrolling person (a loop). */
const MAX_REFERRAL_CHAIN = 1000;
/** Referral codes are drawn at random: a draw that hits a taken code is drawn again, this many times at most. */
const REFERRAL_CODE_DRAWS = 5;

class ReferralCodeTaken extends Error {}

/** Every subgraph that holds data about members, and so confirms an erasure. */
export const ERASING_SERVICES = ['members', 'campaigns', 'rewards', 'analytics'] as const;

/** Maps a unique-index violation to the field a client sent. */
function duplicateField(error: unknown): never {
  const constraint = uniqueViolation(error);
  if (constraint === 'members_tenant_referral_code') throw new ReferralCodeTaken();
  if (constraint === 'members_tenant_email') throw new ConflictError('email', 'A member with this email already exists');
  if (constraint === 'members_tenant_external_id') throw new ConflictError('externalId', 'A member with this externalId already exists');
  throw error;
}

export class MemberService {
  constructor(
    private readonly db: DataSource,
    private readonly repository: MemberRepository,
    private readonly tiers: TierService,
    private readonly audit: AuditLog,
    private readonly segments: SegmentService,
  ) {}

  async get(identity: Identity, loaders: Loaders, id: string, field = 'id'): Promise<Member | null> {
    const memberId = parseId(id, field);
    requireMemberAccess(identity, memberId, access['Query.member']);
    const entity = await loaders.member.load(memberId);
    return entity ? toMember(entity) : null;
  }

  async getOrFail(identity: Identity, loaders: Loaders, id: string, field = 'id'): Promise<Member> {
    const member = await this.get(identity, loaders, id, field);
    if (!member) throw new NotFoundError('Member', field);
    return member;
  }

  async list(
    identity: Identity,
    filter: MemberFilter | undefined,
    order: MemberOrder,
    first: number,
    after?: string | null,
  ): Promise<MemberConnection> {
    const size = pageSize(first);
    const cursor = decodeMemberCursor(order, after);
    const { emailPrefix, nameContains, segmentId, ...exact } = filter ?? {};
    const segment = segmentId ? await this.segments.getOrFail(identity.tenant, segmentId, 'filter.segmentId') : undefined;
    const query = { tenant: identity.tenant, ...exact, ...searchPatterns({ emailPrefix, nameContains }), segment };
    const { rows, hasNextPage } = await this.repository.list({ ...query, order, first: size, after: cursor });
    const cursors = new Map(rows.map(({ member, key }) => [member.id, encodeMemberCursor(order, { key, id: member.id })]));
    return MemberConnection.from({
      nodes: rows.map(({ member }) => toMember(member)),
      hasNextPage,
      cursorOf: (member) => cursors.get(member.id)!,
      count: () => this.repository.count(query),
    });
  }

  /**
   * Enrols a member with a fresh referral code. With the referrer's `referralCode`, links it to
   * that member (referrals: docs/targeting.md): an unknown or erased member's code is NOT_FOUND,
   * and the referrer may not be the enrolling person itself, nor someone it referred (directly or
   * not); nothing is written then.
   */
  async enroll(identity: Identity, input: EnrollMemberInput): Promise<Member> {
    const attributes = checkAttributes(input.attributes ?? {});
    const referralCode = input.referralCode == null ? null : normalizeReferralCode(input.referralCode);
    if (input.referralCode != null && referralCode === null) {
      throw new BadInputError('referralCode', `referralCode must be ${REFERRAL_CODE_LENGTH} letters and digits, e.g. K7QM-9XR2`);
    }
    for (let draw = 1; ; draw++) {
      try {
        return toMember(await this.enrollOnce(identity, input, attributes, referralCode));
      } catch (error) {
        if (!(error instanceof ReferralCodeTaken) || draw === REFERRAL_CODE_DRAWS) throw error;
      }
    }
  }

  private enrollOnce(identity: Identity, input: EnrollMemberInput, attributes: Record<string, unknown>, referralCode: string | null): Promise<MemberEntity> {
    const email = input.email.trim();
    return this.db
      .transaction(async (manager) => {
        const referredBy = referralCode === null ? null : await this.referrer(manager, identity.tenant, { email, externalId: input.externalId ?? null }, referralCode);
        const tierId = await this.tiers.entryTierId(manager, identity.tenant);
        const member = await this.repository.insert(manager, {
          tenant: identity.tenant,
          email,
          name: input.name ?? null,
          country: input.country?.toUpperCase() ?? null,
          externalId: input.externalId ?? null,
          attributes,
          tierId,
          referralCode: readableCode(REFERRAL_CODE_LENGTH),
          referredBy,
        });
        await appendOutbox(manager, [
          { type: 'MEMBER_ENROLLED', tenant: identity.tenant, key: member.id, payload: { memberId: member.id, country: member.country } },
        ]);
        await this.segments.refreshMembers(manager, identity.tenant, [member.id]);
        await this.audit.record(manager, identity, { action: 'enrollMember', targetType: 'Member', targetId: member.id, memberId: member.id, after: auditView(member) });
        return member;
      })
      .catch(duplicateField);
  }

  /** The id of the member handing out `code`, once the link is allowed (referral.rule.ts). */
  private async referrer(manager: EntityManager, tenant: string, enrolling: ReferralIdentity, code: string): Promise<string> {
    const referrer = await this.repository.lockReferrer(manager, tenant, code);
    if (!referrer) throw new NotFoundError('Member', 'referralCode', 'No member has this referralCode');
    const refusal = referralRefusal(enrolling, await this.repository.referralChain(manager, tenant, referrer.id, MAX_REFERRAL_CHAIN));
    if (refusal === 'SELF_REFERRAL') throw new BadInputError('referralCode', 'A member cannot be referred by itself');
    if (refusal === 'REFERRAL_LOOP') throw new BadInputError('referralCode', 'A member cannot be referred by a member it referred');
    return referrer.id;
  }

  /**
   * Sets the consents given, and records the change (what was set, by whom, when) in the same
   * transaction. Nothing given: the member as it is, nothing recorded.
   */
  async updateConsents(identity: Identity, id: string, input: ConsentInput): Promise<Member> {
    const memberId = parseId(id, 'memberId');
    requireMemberAccess(identity, memberId, access['Mutation.updateConsents']);
    const changes = Object.fromEntries(
      (['marketingEmail', 'marketingSms', 'marketingPush'] as const).flatMap((channel) => (typeof input[channel] === 'boolean' ? [[channel, input[channel]]] : [])),
    );
    const entity = await this.db.transaction(async (manager) => {
      const before = await this.repository.lock(manager, identity.tenant, memberId);
      if (!before) return null;
      if (Object.keys(changes).length === 0) return before;
      if (before.status === 'ERASED') throw new ConflictError('memberId', 'The member was erased');
      await this.repository.setConsents(manager, identity.tenant, memberId, changes, identity.principal);
      const after = (await this.repository.find(manager, identity.tenant, memberId))!;
      await this.audit.record(manager, identity, { action: 'updateConsents', targetType: 'Member', targetId: memberId, memberId, before: consentsOf(before), after: consentsOf(after) });
      return after;
    });
    if (!entity) throw new NotFoundError('Member', 'memberId');
    return toMember(entity);
  }

  async update(identity: Identity, id: string, input: UpdateMemberInput): Promise<Member> {
    const memberId = parseId(id, 'id');
    const changes: Partial<MemberEntity> = {};
    if (input.email != null) changes.email = input.email.trim();
    if (input.name !== undefined) changes.name = input.name;
    if (input.country !== undefined) changes.country = input.country?.toUpperCase() ?? null;
    if (input.attributes != null) changes.attributes = checkAttributes(input.attributes);
    if (input.status != null) changes.status = input.status;
    const entity = await this.db
      .transaction(async (manager) => {
        const before = await this.repository.lock(manager, identity.tenant, memberId);
        if (!before) throw new NotFoundError('Member', 'id');
        if (Object.keys(changes).length === 0) return before;
        if (before.status === 'ERASED') throw new ConflictError('id', 'The member was erased');
        const after = (await this.repository.update(manager, identity.tenant, memberId, changes))!;
        await this.segments.refreshMembers(manager, identity.tenant, [memberId]);
        await this.audit.record(manager, identity, { action: 'updateMember', targetType: 'Member', targetId: memberId, memberId, before: auditView(before), after: auditView(after) });
        return after;
      })
      .catch(duplicateField);
    return toMember(entity);
  }

  /**
   * Erases the member's personal data here (email, name, external id, attributes, consents) and
   * in the audit entries about it, sets ERASED, and sends MEMBER_ERASED, which every other
   * subgraph acts on and confirms (`confirmErasure`). Points, tier and country stay: ledger sums
   * and reports do not change. Erasing an erased member changes nothing.
   */
  async erase(identity: Identity, id: string): Promise<Member> {
    const memberId = parseId(id, 'id');
    const entity = await this.db.transaction(async (manager) => {
      await this.repository.closeAccount(manager, identity.tenant, memberId);
      const before = await this.repository.lock(manager, identity.tenant, memberId);
      if (!before) throw new NotFoundError('Member', 'id');
      if (before.status === 'ERASED') return before;
      await redactAuditEntries(manager, identity.tenant, memberId);
      const after = await this.repository.erase(manager, identity.tenant, memberId, identity.principal, 'members');
      await this.audit.record(manager, identity, { action: 'eraseMember', targetType: 'Member', targetId: memberId, memberId, before: { status: before.status }, after: { status: after.status } });
      await appendOutbox(manager, [{ type: 'MEMBER_ERASED', tenant: identity.tenant, key: memberId, payload: { memberId } }]);
      await this.segments.refreshMembers(manager, identity.tenant, [memberId]);
      return after;
    });
    return toMember(entity);
  }

  /** A subgraph confirms it erased what it held of the member; the erasure completes with the last one. */
  async confirmErasure(tenant: string, memberId: string, service: string): Promise<void> {
    if (!(ERASING_SERVICES as readonly string[]).includes(service)) throw new BadInputError('service', `service must be one of: ${ERASING_SERVICES.join(', ')}`);
    if (!(await this.repository.confirmErasure(tenant, memberId, service, ERASING_SERVICES))) throw new NotFoundError('Erasure', 'memberId');
  }
}

const consentsOf = (member: MemberEntity) => ({
  marketingEmail: member.consentMarketingEmail,
  marketingSms: member.consentMarketingSms,
  marketingPush: member.consentMarketingPush,
});
