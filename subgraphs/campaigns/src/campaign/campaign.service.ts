import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { BadInputError, ConflictError, NotFoundError, appendOutbox, parseId, type Identity } from '@loyalty/kit';
import { isTimeZone, type EligibilitySpec, type RuleSpec } from '../rules/rules';
import { CampaignEntity } from './campaign.entity';
import type { CampaignInput } from './campaign.inputs';
import { CampaignStatus, toCampaign, type Campaign } from './campaign.type';

/** Checks what class-validator cannot see alone (relations between fields) and maps input to storage. */
function toColumns(input: CampaignInput): Partial<CampaignEntity> {
  const timeZone = input.timeZone ?? 'UTC';
  if (!isTimeZone(timeZone)) throw new BadInputError('timeZone', `${timeZone} is not an IANA time zone`);
  if (input.startsAt && input.endsAt && input.endsAt <= input.startsAt) throw new BadInputError('endsAt', 'endsAt must be after startsAt');
  const rules: RuleSpec[] = input.rules.map((rule, i) => {
    if (rule.trigger === 'CUSTOM_EVENT' && !rule.eventName) throw new BadInputError(`rules.${i}.eventName`, 'a CUSTOM_EVENT rule needs an eventName');
    (rule.happyHours ?? []).forEach((h, j) => {
      if (h.endTime <= h.startTime) throw new BadInputError(`rules.${i}.happyHours.${j}.endTime`, 'endTime must be after startTime');
    });
    return {
      id: randomUUID(),
      name: rule.name,
      trigger: rule.trigger,
      eventName: rule.trigger === 'CUSTOM_EVENT' ? rule.eventName! : null,
      calculation: rule.calculation,
      points: rule.points,
      amountStep: rule.calculation === 'PER_AMOUNT' ? (rule.amountStep ?? 100) : null,
      minOrderAmount: rule.minOrderAmount ?? null,
      maxPointsPerMember: rule.maxPointsPerMember ?? null,
      capPeriod: rule.maxPointsPerMember ? (rule.capPeriod ?? 'LIFETIME') : null,
      happyHours: (rule.happyHours ?? []).map((h) => ({ daysOfWeek: [...new Set(h.daysOfWeek)], startTime: h.startTime, endTime: h.endTime, multiplier: h.multiplier })),
    };
  });
  const eligibility: EligibilitySpec | null = input.eligibility
    ? {
        countries: input.eligibility.countries?.map((c) => c.toUpperCase()) ?? null,
        minTierRank: input.eligibility.minTierRank ?? null,
        attributeEquals: input.eligibility.attributeEquals ?? null,
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
  };
}

/** Campaign lifecycle: DRAFT → ACTIVE ⇄ PAUSED; ENDED once past endsAt. */
export class CampaignService {
  constructor(private readonly db: DataSource) {}

  async create(identity: Identity, input: CampaignInput): Promise<Campaign> {
    const repository = this.db.getRepository(CampaignEntity);
    const saved = await repository.save(repository.create({ tenant: identity.tenant, status: 'DRAFT', ...toColumns(input) }));
    return toCampaign(await repository.findOneByOrFail({ id: saved.id }));
  }

  /**
   * Replaces the definition. Rules get new ids, so per-member cap counters start afresh; the
   * budget already issued stays, and a new maxPoints below it is refused.
   */
  async update(identity: Identity, id: string, input: CampaignInput): Promise<Campaign> {
    const columns = toColumns(input);
    return this.db.transaction(async (manager) => {
      const repository = manager.getRepository(CampaignEntity);
      const campaign = await repository.findOne({ where: { tenant: identity.tenant, id: parseId(id, 'id') }, lock: { mode: 'pessimistic_write' } });
      if (!campaign) throw new NotFoundError('Campaign');
      if (columns.maxPoints != null && columns.maxPoints < campaign.pointsIssued) {
        throw new BadInputError('budget.maxPoints', `maxPoints cannot go below the ${campaign.pointsIssued} points already issued`);
      }
      await repository.update({ id: campaign.id }, { ...columns, updatedAt: new Date() } as QueryDeepPartialEntity<CampaignEntity>);
      return toCampaign(await repository.findOneByOrFail({ id: campaign.id }));
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
      const repository = manager.getRepository(CampaignEntity);
      const campaign = await repository.findOne({ where: { tenant: identity.tenant, id: parseId(id, 'id') }, lock: { mode: 'pessimistic_write' } });
      if (!campaign) throw new NotFoundError('Campaign');
      const current = toCampaign(campaign);
      if (current.status === CampaignStatus.ENDED || !from.includes(campaign.status)) {
        throw new ConflictError('id', `A ${current.status} campaign cannot become ${to}`);
      }
      if (campaign.status !== to) {
        await repository.update({ id: campaign.id }, { status: to, updatedAt: new Date() });
        await appendOutbox(manager, [
          { type: 'CAMPAIGN_STATUS_CHANGED', tenant: identity.tenant, key: campaign.id, payload: { campaignId: campaign.id, status: to } },
        ]);
      }
      return toCampaign(await repository.findOneByOrFail({ id: campaign.id }));
    });
  }
}
