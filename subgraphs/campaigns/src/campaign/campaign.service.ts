import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  BadInputError,
  ConflictError,
  NotFoundError,
  appendOutbox,
  parseId,
  requireSegments,
  timeIdPage,
  type AuditLog,
  type Identity,
  type LedgerClient,
} from '@loyalty/kit';
import { isTimeZone, type EligibilitySpec, type RuleSpec } from '../rules/rules';
import type { CampaignEntity } from './campaign.entity';
import type { CampaignInput } from './campaign.inputs';
import type { CampaignRepository } from './campaign.repository';
import { ActivityType, CampaignConnection, CampaignStatus, PointsCalculation, toCampaign, type Campaign } from './campaign.type';

/** Checks what class-validator cannot see alone (relations between fields) and maps input to storage. */
export function toColumns(input: CampaignInput): Partial<CampaignEntity> {
  const timeZone = input.timeZone ?? 'UTC';
  if (!isTimeZone(timeZone)) throw new BadInputError('timeZone', `${timeZone} is not an IANA time zone`);
  if (input.startsAt && input.endsAt && input.endsAt <= input.startsAt) throw new BadInputError('endsAt', 'endsAt must be after startsAt');
  const rules: RuleSpec[] = input.rules.map((rule, i) => {
    if (rule.trigger === ActivityType.CUSTOM_EVENT && !rule.eventName) throw new BadInputError(`rules.${i}.eventName`, 'a CUSTOM_EVENT rule needs an eventName');
    (rule.happyHours ?? []).forEach((h, j) => {
      if (h.endTime <= h.startTime) throw new BadInputError(`rules.${i}.happyHours.${j}.endTime`, 'endTime must be after startTime');
    });
    return {
      id: randomUUID(),
      name: rule.name,
      trigger: rule.trigger,
      eventName: rule.trigger === ActivityType.CUSTOM_EVENT ? rule.eventName! : null,
      calculation: rule.calculation,
      points: rule.points,
      amountStep: rule.calculation === PointsCalculation.PER_AMOUNT ? (rule.amountStep ?? 100) : null,
      minOrderAmount: rule.minOrderAmount ?? null,
      maxPointsPerMember: rule.maxPointsPerMember ?? null,
      capPeriod: rule.maxPointsPerMember ? (rule.capPeriod ?? 'LIFETIME') : null,
      happyHours: (rule.happyHours ?? []).map((h) => ({ daysOfWeek: [...new Set(h.daysOfWeek)], startTime: h.startTime, endTime: h.endTime, multiplier: h.multiplier })),
      pendingDays: rule.pendingDays ?? 0,
    };
  });
  const eligibility: EligibilitySpec | null = input.eligibility
    ? {
        countries: input.eligibility.countries?.map((c) => c.toUpperCase()) ?? null,
        minTierRank: input.eligibility.minTierRank ?? null,
        attributeEquals: input.eligibility.attributeEquals ?? null,
        segmentIds: input.eligibility.segmentIds?.length ? [...new Set(input.eligibility.segmentIds.map((id) => id.toLowerCase()))] : null,
      }
    : null;
  return {
    name: input.name,
    description: input.description ?? null,
    startsAt: input.startsAt ?? null,
    endsAt: input.endsAt ?? null,
    timeZone,
    rules,
    eligibility,
    maxPoints: input.budget?.maxPoints ?? null,
    priority: input.priority ?? 0,
    exclusive: input.exclusive ?? false,
  };
}

/** Campaign lifecycle: DRAFT → ACTIVE ⇄ PAUSED; ENDED once past endsAt. */
export class CampaignService {
  constructor(
    private readonly db: DataSource,
    private readonly repository: CampaignRepository,
    private readonly audit: AuditLog,
    private readonly ledger: LedgerClient,
  ) {}

  /** Segments the input targets must exist (NOT_FOUND naming the field), checked before anything is written. */
  private async checkSegments(identity: Identity, input: CampaignInput): Promise<void> {
    await requireSegments(this.ledger, identity.tenant, input.eligibility?.segmentIds, 'eligibility.segmentIds');
  }

  async list(identity: Identity, status: CampaignStatus | null, first: number, after: string | null): Promise<CampaignConnection> {
    const page = await timeIdPage(first, after, {
      read: (size, cursor) => this.repository.list(identity.tenant, status, size, cursor),
      toNode: (row) => toCampaign(row),
      keyOf: (campaign) => [campaign.createdAt, campaign.id],
      count: () => this.repository.count(identity.tenant, status),
    });
    return CampaignConnection.from(page);
  }

  async create(identity: Identity, input: CampaignInput): Promise<Campaign> {
    const columns = toColumns(input);
    await this.checkSegments(identity, input);
    return this.db.transaction(async (manager) => {
      const campaign = toCampaign(await this.repository.insert(manager, { tenant: identity.tenant, status: 'DRAFT', ...columns }));
      await this.audit.record(manager, identity, { action: 'createCampaign', targetType: 'Campaign', targetId: campaign.id, after: campaign });
      return campaign;
    });
  }

  /**
   * Replaces the definition. Rules get new ids, so per-member cap counters start afresh; the
   * budget already issued stays, and a new maxPoints below it is refused.
   */
  async update(identity: Identity, id: string, input: CampaignInput): Promise<Campaign> {
    const columns = toColumns(input);
    await this.checkSegments(identity, input);
    return this.db.transaction(async (manager) => {
      const campaign = await this.repository.lock(manager, identity.tenant, parseId(id, 'id'));
      if (!campaign) throw new NotFoundError('Campaign');
      if (columns.maxPoints != null && columns.maxPoints < campaign.pointsIssued) {
        throw new BadInputError('budget.maxPoints', `maxPoints cannot go below the ${campaign.pointsIssued} points already issued`);
      }
      await this.repository.update(manager, campaign.id, { ...columns, updatedAt: new Date() });
      const after = toCampaign(await this.repository.get(manager, campaign.id));
      await this.audit.record(manager, identity, { action: 'updateCampaign', targetType: 'Campaign', targetId: campaign.id, before: toCampaign(campaign), after });
      return after;
    });
  }

  activate(identity: Identity, id: string): Promise<Campaign> {
    return this.transition(identity, id, 'ACTIVE', ['DRAFT', 'PAUSED', 'ACTIVE']);
  }

  /** The kill switch: the row lock orders it with in-flight activities, so the very next one sees it. */
  pause(identity: Identity, id: string): Promise<Campaign> {
    return this.transition(identity, id, 'PAUSED', ['ACTIVE', 'PAUSED']);
  }

  private async transition(identity: Identity, id: string, to: 'ACTIVE' | 'PAUSED', from: string[]): Promise<Campaign> {
    return this.db.transaction(async (manager) => {
      const campaign = await this.repository.lock(manager, identity.tenant, parseId(id, 'id'));
      if (!campaign) throw new NotFoundError('Campaign');
      const current = toCampaign(campaign);
      if (current.status === CampaignStatus.ENDED || !from.includes(campaign.status)) {
        throw new ConflictError('id', `A ${current.status} campaign cannot become ${to}`);
      }
      if (campaign.status !== to) {
        await this.repository.update(manager, campaign.id, { status: to, updatedAt: new Date() });
        await appendOutbox(manager, [
          { type: 'CAMPAIGN_STATUS_CHANGED', tenant: identity.tenant, key: campaign.id, payload: { campaignId: campaign.id, status: to } },
        ]);
        await this.audit.record(manager, identity, {
          action: to === 'ACTIVE' ? 'activateCampaign' : 'pauseCampaign',
          targetType: 'Campaign',
          targetId: campaign.id,
          before: { status: current.status },
          after: { status: to },
        });
      }
      return toCampaign(await this.repository.get(manager, campaign.id));
    });
  }
}
