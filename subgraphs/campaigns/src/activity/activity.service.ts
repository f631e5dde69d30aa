import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import {
  BadInputError,
  ConflictError,
  IdempotencyConflictError,
  LedgerUnavailableError,
  MAX_POINTS_PER_MOVE,
  NotFoundError,
  ServiceUnavailableError,
  appendOutbox,
  parseId,
  recoverPending,
  requestFingerprint,
  requireWritableMember,
  retryTransaction,
  runLedgerStep,
  startRecoveryJob,
  type AuditLog,
  type Identity,
  type LedgerClient,
  type Logger,
  type MemberSnapshot,
  uniqueViolation,
} from '@loyalty/kit';
import type { CampaignEntity } from '../campaign/campaign.entity';
import { ActivityType } from '../campaign/campaign.type';
import type { CampaignRepository } from '../campaign/campaign.repository';
import { award, isEligible, pendingUntil, periodKey, type ActivityFacts, type MemberFacts } from '../rules/rules';
import type { ActivityInput } from './activity.inputs';
import type { Activity, ActivityRepository, StoredAward } from './activity.repository';

export interface Award extends StoredAward {
  /** The campaign as the reservation left it (set when this request evaluated it, not on replays). */
  campaign?: CampaignEntity;
  /** The awarding rule's pendingDays (set with `campaign`). */
  pendingDays?: number;
}

/** What a credit sends: the activity's points and the terms it was first sent with. */
export type Creditable = Pick<Activity, 'tenant' | 'id' | 'memberId' | 'pointsEarned' | 'creditOrderId' | 'creditPendingUntil'>;

export interface EarnOutcome {
  activityId: string;
  memberId: string;
  pointsEarned: number;
  transactionId: string | null;
  awards: Award[];
}

class KeyTaken extends Error {}
class OrderTaken extends Error {}

export interface ActivityOptions {
  /** How many days in the past `occurredAt` may lie: older activities would refill past periods' caps. */
  maxBackdateDays: number;
}

const creditKey = (activityId: string) => `activity:${activityId}`;
/** How far in the future an activity may claim to have happened (clock skew of a till). */
const FUTURE_TOLERANCE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

/**
 * recordActivity (docs/architecture.md, moving points across subgraphs): the activity is stored once per idempotency key;
 * rules are evaluated against the member's current tier, country and attributes and the running
 * campaigns as read (no lock); budget and caps are reserved by short conditional statements that
 * clip to what is left (so concurrent activities never overshoot), in the same short transaction
 * that stores the activity (a rollback gives them back); then the members ledger is asked to credit with a key
 * derived from the activity. If members cannot be reached the activity stays PENDING and
 * `creditPending` (a retry job, or a retry of the request) repeats the credit until members
 * confirms; a permanent refusal releases the budget and caps (the kit's ledger saga, saga.ts). Without the member's snapshot nothing
 * can be evaluated, so while members is down a new activity is refused as SERVICE_UNAVAILABLE
 * (retryable, nothing stored): the till sends it again under the same key.
 */
export class ActivityService {
  constructor(
    private readonly db: DataSource,
    private readonly activities: ActivityRepository,
    private readonly campaigns: CampaignRepository,
    private readonly ledger: LedgerClient,
    private readonly log: Logger,
    private readonly options: ActivityOptions,
    private readonly audit: AuditLog,
  ) {}

  async record(identity: Identity, input: ActivityInput): Promise<EarnOutcome> {
    const memberId = parseId(input.memberId, 'memberId');
    if (input.type === ActivityType.PURCHASE) {
      if (input.amount === null || input.amount === undefined) throw new BadInputError('amount', 'a PURCHASE needs an amount');
      if (input.amount < 0) throw new BadInputError('amount', 'amount must not be negative');
    }
    if (input.type === ActivityType.CUSTOM_EVENT && !input.eventName) throw new BadInputError('eventName', 'a CUSTOM_EVENT needs an eventName');
    if (input.occurredAt && input.occurredAt.getTime() > Date.now() + FUTURE_TOLERANCE_MS) {
      throw new BadInputError('occurredAt', 'occurredAt is in the future');
    }
    const { tenant } = identity;
    const occurredAt = input.occurredAt ?? new Date();
    // As stored and announced: what was not sent is null, a currency is in capitals.
    const activity = {
      memberId,
      type: input.type,
      amount: input.amount ?? null,
      currency: input.currency?.toUpperCase() ?? null,
      orderId: input.orderId ?? null,
      storeId: input.storeId ?? null,
      channel: input.channel ?? null,
      eventName: input.eventName ?? null,
    };
    const hash = requestFingerprint([memberId, activity.type, activity.amount, activity.currency, activity.orderId,
          activity.storeId, activity.channel, activity.eventName, input.occurredAt?.toISOString() ?? null]);

    const existing = await this.activities.byKey(tenant, input.idempotencyKey);
    if (existing) return this.replay(existing, hash);
    // After the replay: a till retrying an activity it recorded in time still gets its answer.
    if (input.occurredAt && input.occurredAt.getTime() < Date.now() - this.options.maxBackdateDays * DAY_MS) {
      throw new BadInputError('occurredAt', `occurredAt may lie at most ${this.options.maxBackdateDays} days in the past`);
    }

    const member = await this.snapshot(tenant, memberId);
    if (member.status === 'ERASED') throw new NotFoundError('Member', 'memberId', 'The member was erased');
    const facts: ActivityFacts = {
      type: input.type,
      amount: input.type === ActivityType.PURCHASE ? input.amount! : null,
      eventName: input.type === ActivityType.CUSTOM_EVENT ? input.eventName! : null,
      occurredAt,
    };

    // Read before the transaction and without a lock: the reservation rechecks that each still runs.
    const campaigns = member.status === 'ACTIVE' ? await this.campaigns.runningAt(tenant, occurredAt) : [];

    let outcome: EarnOutcome & { terms: Pick<Creditable, 'creditOrderId' | 'creditPendingUntil'> };
    try {
      // Reservations of one member take the same counters: one that PostgreSQL picks as a
      // deadlock's victim is run again.
      // Its id is chosen here, so its audit entry is written before the reservation takes the
      // campaigns' budget rows (which every activity of the tenant queues on until commit).
      const id = randomUUID();
      outcome = await retryTransaction(() => this.db.transaction(async (manager) => {
        await requireWritableMember(manager, tenant, memberId);
        await this.audit.record(manager, identity, {
          action: 'recordActivity',
          targetType: 'Activity',
          targetId: id,
          memberId,
          after: { ...activity, occurredAt: occurredAt.toISOString() },
        });
        // Reserve first, then store the activity with its totals: a twin that stored the same key
        // meanwhile makes the insert find nothing, and the rollback gives the reservation back.
        const awards = campaigns.length > 0 ? await this.reserve(manager, campaigns, member, facts, input.type === ActivityType.PURCHASE ? 'amount' : 'eventName') : [];
        const points = awards.reduce((sum, a) => sum + a.points, 0);
        // Stored with the activity, so every retry of its credit sends the very same request.
        const terms = {
          creditOrderId: input.type === ActivityType.PURCHASE && points > 0 ? activity.orderId : null,
          creditPendingUntil: points > 0 ? pendingUntil(facts, awards) : null,
        };
        const activityId = await this.activities
          .insert(manager, id, {
            tenant,
            ...activity,
            occurredAt,
            idempotencyKey: input.idempotencyKey,
            requestHash: hash,
            pointsEarned: points,
            creditStatus: points > 0 ? 'PENDING' : 'NONE',
            ...terms,
          })
          .catch((error: unknown) => {
            if (uniqueViolation(error) === 'activities_purchase_order') throw new OrderTaken();
            throw error;
          });
        if (!activityId) throw new KeyTaken();
        if (awards.length > 0) await this.activities.insertAwards(manager, activityId, awards);
        await appendOutbox(manager, [
          {
            type: 'ACTIVITY_RECORDED',
            tenant,
            key: memberId,
            payload: {
              activityId,
              memberId,
              type: activity.type,
              amount: activity.amount,
              currency: activity.currency,
              storeId: activity.storeId,
              eventName: activity.eventName,
              occurredAt: occurredAt.toISOString(),
              pointsEarned: points,
              awards: awards.map(({ campaignId, ruleId, points: p }) => ({ campaignId, ruleId, points: p })),
            },
          },
        ]);
        return { activityId, memberId, pointsEarned: points, transactionId: null, awards, terms };
      }));
    } catch (error) {
      if (!(error instanceof KeyTaken) && !(error instanceof OrderTaken)) throw error;
      // A twin with this key may have stored the same order first: that is a replay, not a conflict.
      const twin = await this.activities.byKey(tenant, input.idempotencyKey);
      if (twin) return this.replay(twin, hash);
      throw new ConflictError('orderId', 'An activity for this orderId was already recorded');
    }
    const { terms, ...earned } = outcome;
    if (earned.pointsEarned === 0) return earned;
    const transactionId = await this.settleCredit({ tenant, id: earned.activityId, memberId, pointsEarned: earned.pointsEarned, ...terms });
    return { ...earned, transactionId };
  }

  /**
   * Evaluates the rules of `campaigns` (read without a lock) and reserves what they award; an award
   * past one ledger move's limit is blamed on `limitField`, the input that drove it. Every counter is
   * reserved by one short statement that clips to what it has left, so nothing ever overshoots and
   * no lock is held while anything else is decided: first the member's caps (in rule id order), then
   * every campaign's budget at once (only while the campaign still runs: paused since the read, it
   * awards nothing). A campaign's grant goes to its rules in order; what a cap reserved beyond it is
   * given back. Caps before campaigns, campaigns in id order: the order every writer of these
   * counters takes them in, so none deadlocks. Their row locks last until the caller commits.
   */
  private async reserve(manager: EntityManager, campaigns: CampaignEntity[], member: MemberSnapshot, facts: ActivityFacts, limitField: string): Promise<Award[]> {
    const memberFacts: MemberFacts = {
      country: member.country,
      tierRank: member.tier.rank,
      earnMultiplier: member.tier.earnMultiplier,
      attributes: member.attributes,
      segmentIds: member.segmentIds,
    };
    const evaluated: (Award & { cap: number | null })[] = [];
    for (const campaign of campaigns) {
      if (!isEligible(campaign.eligibility, memberFacts)) continue;
      for (const rule of campaign.rules) {
        const points = award(rule, facts, memberFacts, campaign.timeZone);
        if (points <= 0) continue;
        const capped = rule.maxPointsPerMember !== null && rule.capPeriod !== null;
        const key = capped ? periodKey(rule.capPeriod!, facts.occurredAt, campaign.timeZone) : null;
        evaluated.push({ campaignId: campaign.id, ruleId: rule.id, points, periodKey: key, campaign, pendingDays: rule.pendingDays ?? 0, cap: capped ? rule.maxPointsPerMember : null });
      }
    }
    // Caps are claimed in rule id order, the order giveBack takes them in too.
    for (const a of [...evaluated].sort(byRuleId)) {
      if (a.periodKey && a.cap !== null) a.points = await this.activities.claimCap(manager, a.ruleId, member.id, a.periodKey, a.points, a.cap);
    }
    const wanted: Award[] = evaluated.filter((a) => a.points > 0).map(({ cap: _cap, ...a }) => a);
    const perCampaign = new Map<string, number>();
    for (const a of wanted) perCampaign.set(a.campaignId, (perCampaign.get(a.campaignId) ?? 0) + a.points);
    const claims = await this.campaigns.claimBudgets(manager, perCampaign, facts.occurredAt);
    const left = new Map([...claims].map(([id, claim]) => [id, claim.granted]));
    const awards: Award[] = [];
    let total = 0;
    for (const a of wanted) {
      const points = Math.min(a.points, left.get(a.campaignId) ?? 0);
      left.set(a.campaignId, (left.get(a.campaignId) ?? 0) - points);
      if (a.periodKey && points < a.points) await this.activities.addToCap(manager, a.ruleId, member.id, a.periodKey, points - a.points);
      if (points <= 0) continue;
      total = this.withinMoveLimit(total, points, limitField);
      // As this reservation left it (the row stays locked until the activity is stored).
      a.campaign!.pointsIssued = claims.get(a.campaignId)!.pointsIssued;
      awards.push({ ...a, points });
    }
    return awards;
  }

  /** One activity is one ledger move: an award the ledger would refuse is the input's fault, said before anything is kept. */
  private withinMoveLimit(total: number, points: number, limitField: string): number {
    if (total + points > MAX_POINTS_PER_MOVE) {
      throw new BadInputError(limitField, `This activity would earn more than ${MAX_POINTS_PER_MOVE} points, the most one activity may earn`);
    }
    return total + points;
  }

  /** The member as members knows it now; while members cannot be reached nothing can be decided or kept. */
  private async snapshot(tenant: string, memberId: string): Promise<MemberSnapshot> {
    let member: MemberSnapshot | undefined;
    try {
      [member] = await this.ledger.members(tenant, [memberId]);
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
      this.log.warn({ err: error, memberId }, 'members unreachable; activity refused as retryable');
      throw new ServiceUnavailableError('The member cannot be read right now; nothing was recorded: retry with the same idempotency key');
    }
    if (!member) throw new NotFoundError('Member', 'memberId');
    return member;
  }

  /**
   * Asks members to credit a PENDING activity (idempotently, keyed by the activity) through the
   * ledger saga, with the order and the pending time stored with it. Returns the ledger transaction
   * id, or null while members cannot be reached (the activity stays PENDING for the retry job).
   */
  settleCredit(activity: Creditable): Promise<string | null> {
    const { tenant, id: activityId, memberId, pointsEarned: points } = activity;
    return runLedgerStep<string | null>({
      call: () =>
        this.ledger.credit({
          tenant,
          memberId,
          points,
          type: 'EARN',
          idempotencyKey: creditKey(activityId),
          reference: activityId,
          reason: 'Campaign earning',
          // Only when set: credits first sent without them must be sent the same way again.
          ...(activity.creditOrderId ? { orderId: activity.creditOrderId } : {}),
          ...(activity.creditPendingUntil ? { pendingUntil: activity.creditPendingUntil.toISOString() } : {}),
        }),
      settle: async (transactionId) => {
        await this.activities.credited(this.db.manager, activityId, transactionId);
        return transactionId;
      },
      compensate: async (refusal) => {
        await this.release(activityId);
        // The ledger blames its own `points`; the caller sent no points, only the member to credit.
        if (refusal.code === 'BAD_USER_INPUT' && refusal.field === 'points') {
          return new BadInputError('memberId', `The member's balance cannot take the ${points} points this activity earns`);
        }
        return undefined;
      },
      leavePending: () => null,
      pendingMessage: 'members unreachable; credit left PENDING for the retry job',
      context: { activityId },
      log: this.log,
    });
  }

  /** A permanent refusal by the ledger: give the reserved budget and caps back, once. */
  private async release(activityId: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      const memberId = await this.activities.failed(manager, activityId);
      if (memberId) await this.giveBack(manager, memberId, await this.activities.awards(manager, activityId));
    });
  }

  /**
   * Gives points back to the member's caps and the campaigns' budgets (a refused credit, a return),
   * in `manager`'s transaction: caps in rule id order first, then campaigns in id order, the order
   * `reserve` takes them in.
   */
  async giveBack(manager: EntityManager, memberId: string, awards: readonly StoredAward[]): Promise<void> {
    for (const a of [...awards].sort(byRuleId)) if (a.periodKey) await this.activities.addToCap(manager, a.ruleId, memberId, a.periodKey, -a.points);
    const perCampaign = new Map<string, number>();
    for (const a of awards) perCampaign.set(a.campaignId, (perCampaign.get(a.campaignId) ?? 0) + a.points);
    for (const [campaignId, points] of [...perCampaign].sort(([a], [b]) => (a < b ? -1 : 1))) await this.campaigns.addIssued(manager, campaignId, -points);
  }

  private async replay(existing: Activity, hash: string): Promise<EarnOutcome> {
    if (existing.requestHash !== hash) throw new IdempotencyConflictError();
    let transactionId = existing.transactionId;
    if (existing.creditStatus === 'PENDING') {
      transactionId = await this.settleCredit(existing);
    }
    return {
      activityId: existing.id,
      memberId: existing.memberId,
      pointsEarned: existing.pointsEarned,
      transactionId,
      awards: await this.activities.awards(this.db.manager, existing.id),
    };
  }

  /** The retry job: credits activities left PENDING (a crash, members unreachable) for over `olderThanMs`. */
  async creditPending(olderThanMs: number, limit = 100): Promise<number> {
    const pending = await this.activities.pending(olderThanMs, limit);
    // Credited, or released on a refusal: either way finished.
    return recoverPending(pending, async (a) => (await this.settleCredit(a)) !== null);
  }
}

/** The one order every writer of the member's caps takes them in (so none deadlocks). */
const byRuleId = (a: { ruleId: string }, b: { ruleId: string }) => (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0);

/** The retry job: every `intervalMs`, credits activities PENDING for over `olderThanMs`. */
export function startCreditRetry(service: ActivityService, log: Logger, intervalMs: number, olderThanMs: number): () => Promise<void> {
  return startRecoveryJob(
    { name: 'activity credit retry', intervalMs, run: () => service.creditPending(olderThanMs), message: 'credited pending activities', countedAs: 'credited' },
    log,
  );
}
