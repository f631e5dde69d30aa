import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { DataSource } from 'typeorm';
import {
  BASE,
  BadInputError,
  ConflictError,
  NotFoundError,
  appendOutbox,
  experimentProblem,
  parseId,
  requireSegments,
  timeIdPage,
  type AuditLog,
  type Identity,
  type LedgerClient,
} from '@loyalty/kit';
import type { ExperimentSpec } from '../experiment/experiment.rule';
import { isTimeZone, type EligibilitySpec, type RuleSpec } from '../rules/rules';
import { hasEnded } from './campaign.status';
import type { CampaignEntity } from './campaign.entity';
import type { CampaignInput, EarningRuleInput, ExperimentInput } from './campaign.inputs';
import type { CampaignRepository } from './campaign.repository';
import { ActivityType, CampaignConnection, CampaignStatus, PointsCalculation, toCampaign, type Campaign } from './campaign.type';

/** A list of rule inputs as stored, each checked for what class-validator cannot see; `path` names them in errors. */
function toRuleSpecs(inputs: readonly EarningRuleInput[], path: string): RuleSpec[] {
  return inputs.map((rule, i) => {
    if (rule.trigger === ActivityType.CUSTOM_EVENT && !rule.eventName) throw new BadInputError(`${path}.${i}.eventName`, 'a CUSTOM_EVENT rule needs an eventName');
    (rule.happyHours ?? []).forEach((h, j) => {
      if (h.endTime <= h.startTime) throw new BadInputError(`${path}.${i}.happyHours.${j}.endTime`, 'endTime must be after startTime');
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
}

/** An experiment input as stored, not yet started (the service decides its dates); null without one. */
function toExperiment(input: ExperimentInput | null | undefined): ExperimentSpec | null {
  if (!input) return null;
  const shape = { holdoutPercent: input.holdoutPercent ?? 0, variants: (input.variants ?? []).map((v) => ({ key: v.key, weight: v.weight })) };
  const problem = experimentProblem(shape);
  if (problem) throw new BadInputError(problem.field, problem.message);
  return {
    holdoutPercent: shape.holdoutPercent,
    variants: (input.variants ?? []).map((v, i) => ({ key: v.key, weight: v.weight, rules: toRuleSpecs(v.rules, `experiment.variants.${i}.rules`) })),
    startedAt: null,
    endedAt: null,
  };
}

/** Checks what class-validator cannot see alone (relations between fields) and maps input to storage. */
export function toColumns(input: CampaignInput): Partial<CampaignEntity> {
  const timeZone = input.timeZone ?? 'UTC';
  if (!isTimeZone(timeZone)) throw new BadInputError('timeZone', `${timeZone} is not an IANA time zone`);
  if (input.startsAt && input.endsAt && input.endsAt <= input.startsAt) throw new BadInputError('endsAt', 'endsAt must be after startsAt');
  const rules = toRuleSpecs(input.rules, 'rules');
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
    experiment: toExperiment(input.experiment),
    priority: input.priority ?? 0,
    exclusive: input.exclusive ?? false,
  };
}

const sameShape = (a: ExperimentSpec, b: ExperimentSpec) =>
  a.variants.length === b.variants.length && a.variants.every((v, i) => v.key === b.variants[i]!.key && v.weight === b.variants[i]!.weight);

/**
 * The experiment an update leaves the campaign with. Before it started, whatever the input says.
 * Once started, its holdout and weights are frozen (changing them would move members between arms
 * mid-test and mix their figures); its variants' rules may change. Once ended by promoteVariant it is
 * the record of what was tested: the input leaves it out, and it stays as it was.
 */
function nextExperiment(current: CampaignEntity, incoming: ExperimentSpec | null, now: Date): ExperimentSpec | null {
  const before = current.experiment;
  if (before?.endedAt) {
    if (incoming) throw new ConflictError('experiment', 'The experiment ended with promoteVariant; leave experiment out, or test again in a new campaign');
    return before;
  }
  if (before?.startedAt) {
    if (!incoming) throw new ConflictError('experiment', 'A started experiment cannot be removed: end it with promoteVariant');
    if (incoming.holdoutPercent !== before.holdoutPercent) {
      throw new ConflictError('experiment.holdoutPercent', 'holdoutPercent is frozen once the experiment has started (changing it would move members between arms)');
    }
    if (!sameShape(incoming, before)) {
      throw new ConflictError('experiment.variants', 'Variant keys and weights are frozen once the experiment has started (changing them would move members between arms)');
    }
    return { ...incoming, startedAt: before.startedAt };
  }
  // Given to a campaign that runs now: it starts now.
  return incoming && current.status === 'ACTIVE' && !hasEnded(current.endsAt, now) ? { ...incoming, startedAt: now.toISOString() } : incoming;
}

/** The experiment as analytics needs it to assign members (CAMPAIGN_EXPERIMENT_CHANGED). */
const experimentEvent = (tenant: string, campaignId: string, experiment: ExperimentSpec | null) => ({
  type: 'CAMPAIGN_EXPERIMENT_CHANGED' as const,
  tenant,
  key: campaignId,
  payload: {
    campaignId,
    experiment: experiment
      ? {
          holdoutPercent: experiment.holdoutPercent,
          variants: experiment.variants.map((v) => ({ key: v.key, weight: v.weight })),
          startedAt: experiment.startedAt,
          endedAt: experiment.endedAt,
        }
      : null,
  },
});

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
      if (columns.experiment) await appendOutbox(manager, [experimentEvent(identity.tenant, campaign.id, columns.experiment)]);
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
      const now = new Date();
      const experiment = nextExperiment(campaign, columns.experiment ?? null, now);
      await this.repository.update(manager, campaign.id, { ...columns, experiment, updatedAt: now });
      if (!isDeepStrictEqual(experimentEvent(identity.tenant, campaign.id, experiment), experimentEvent(identity.tenant, campaign.id, campaign.experiment))) {
        await appendOutbox(manager, [experimentEvent(identity.tenant, campaign.id, experiment)]);
      }
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

  /**
   * Ends the experiment with the winner: the variant's rules become the campaign's rules for every
   * member (holdout included) from now on, and `endedAt` is recorded; the experiment stays on the
   * campaign so its report keeps the figures of startedAt..endedAt. Without variants, BASE keeps
   * the campaign's rules and ends the holdout.
   */
  async promote(identity: Identity, id: string, key: string): Promise<Campaign> {
    return this.db.transaction(async (manager) => {
      const campaign = await this.repository.lock(manager, identity.tenant, parseId(id, 'campaignId'));
      if (!campaign) throw new NotFoundError('Campaign', 'campaignId');
      const experiment = campaign.experiment;
      if (!experiment) throw new ConflictError('campaignId', 'This campaign runs no experiment');
      if (experiment.endedAt) throw new ConflictError('campaignId', 'The experiment has ended already');
      if (!experiment.startedAt) throw new ConflictError('campaignId', 'The experiment has not started: activate the campaign first');
      const winner = experiment.variants.find((v) => v.key === key);
      if (!winner && !(key === BASE && experiment.variants.length === 0)) {
        const keys = experiment.variants.length > 0 ? experiment.variants.map((v) => v.key) : [BASE];
        throw new BadInputError('key', `${key} is not a variant of this experiment (${keys.join(', ')})`);
      }
      const ended = { ...experiment, endedAt: new Date().toISOString() };
      const before = toCampaign(campaign);
      // The variant's rules keep their ids: members' caps under them carry on.
      await this.repository.update(manager, campaign.id, { rules: winner ? winner.rules : campaign.rules, experiment: ended, updatedAt: new Date() });
      await appendOutbox(manager, [experimentEvent(identity.tenant, campaign.id, ended)]);
      const after = toCampaign(await this.repository.get(manager, campaign.id));
      await this.audit.record(manager, identity, {
        action: 'promoteVariant',
        targetType: 'Campaign',
        targetId: campaign.id,
        before: { rules: before.rules, experiment: before.experiment },
        after: { variant: key, rules: after.rules, experiment: after.experiment },
      });
      return after;
    });
  }

  private async transition(identity: Identity, id: string, to: 'ACTIVE' | 'PAUSED', from: string[]): Promise<Campaign> {
    return this.db.transaction(async (manager) => {
      const campaign = await this.repository.lock(manager, identity.tenant, parseId(id, 'id'));
      if (!campaign) throw new NotFoundError('Campaign');
      const current = toCampaign(campaign);
      if (current.status === CampaignStatus.ENDED || !from.includes(campaign.status)) {
        throw new ConflictError('id', `A ${current.status} campaign cannot become ${to}`);
      }
      if (to === 'ACTIVE' && campaign.experiment && !campaign.experiment.startedAt) {
        // Its figures count from the moment it first runs.
        const experiment = { ...campaign.experiment, startedAt: new Date().toISOString() };
        await this.repository.update(manager, campaign.id, { experiment });
        await appendOutbox(manager, [experimentEvent(identity.tenant, campaign.id, experiment)]);
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
