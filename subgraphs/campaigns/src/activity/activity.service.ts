import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import {
  BadInputError,
  ConflictError,
  IdempotencyConflictError,
  LedgerUnavailableError,
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
import { pendingUntil, rewardsReferrer, type ActivityFacts } from '../rules/rules';
import { byRuleId, evaluate, type Award, type Counters, type Evaluation } from './activity.evaluation';
import type { ActivityInput } from './activity.inputs';
import type { Activity, ActivityRepository, StoredAward } from './activity.repository';
import type { PendingReferral, ReferralRepository } from './referral.repository';

export type { Award } from './activity.evaluation';

/** What a credit sends: the activity's points and the terms it was first sent with. */
export type Creditable = Pick<Activity, 'tenant' | 'id' | 'memberId' | 'pointsEarned' | 'creditOrderId' | 'creditPendingUntil'>;

export interface EarnOutcome {
  activityId: string;
  memberId: string;
  pointsEarned: number;
  transactionId: string | null;
  awards: Award[];
  /** Campaigns that would have awarded points but an exclusive campaign of higher priority stopped. */
  excluded: string[];
}

/** What previewActivity answers: an EarnOutcome that stored nothing. */
export type Preview = Omit<EarnOutcome, 'activityId' | 'transactionId'>;

/** An activity checked and read, ready to evaluate. */
interface Prepared {
  tenant: string;
  memberId: string;
  activity: { memberId: string; type: ActivityType; amount: number | null; currency: string | null; orderId: string | null; storeId: string | null; channel: string | null; eventName: string | null };
  hash: string;
  occurredAt: Date;
  member: MemberSnapshot;
  facts: ActivityFacts;
  campaigns: CampaignEntity[];
  /** The input an award past one move's limit is blamed on. */
  limitField: string;
}

/** An activity whose key was used: its stored answer. */
interface Replayed {
  existing: Activity;
  hash: string;
}

class KeyTaken extends Error {}
class OrderTaken extends Error {}

export interface ActivityOptions {
  /** How many days in the past `occurredAt` may lie: older activities would refill past periods' caps. */
  maxBackdateDays: number;
}

const creditKey = (activityId: string) => `activity:${activityId}`;
/** The key of the REFERRAL activity a referred member's first purchase gives its referrer: at most one per referred member. */
const REFERRAL_KEY_PREFIX = 'referral:';
const referralKey = (referredMemberId: string) => `${REFERRAL_KEY_PREFIX}${referredMemberId}`;

/** One activity to evaluate and store (store()): a client's (recordActivity) or the system's (a REFERRAL). */
interface Earning extends Pick<Prepared, 'tenant' | 'activity' | 'member' | 'facts' | 'campaigns' | 'limitField'> {
  id: string;
  idempotencyKey: string;
  requestHash: string;
  /** In the transaction, before any counter is taken (an audit entry, a lock); false: store nothing. */
  before: (manager: EntityManager) => Promise<boolean>;
  /** In the transaction, once the activity is stored. */
  after: (manager: EntityManager, activityId: string) => Promise<void>;
}

type Stored = EarnOutcome & { terms: Pick<Creditable, 'creditOrderId' | 'creditPendingUntil'> };
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
    private readonly referrals: ReferralRepository,
  ) {}

  /**
   * What recordActivity and previewActivity share: the input checked and normalised, its replay if
   * its key was used, else the member as members knows it and the campaigns running at its time.
   */
  private async prepare(identity: Identity, input: ActivityInput): Promise<Prepared | Replayed> {
    const memberId = parseId(input.memberId, 'memberId');
    if (input.type === ActivityType.REFERRAL) throw new BadInputError('type', 'REFERRAL activities are made by the system when a referred member makes its first PURCHASE');
    if (input.idempotencyKey.startsWith(REFERRAL_KEY_PREFIX)) throw new BadInputError('idempotencyKey', `keys starting with "${REFERRAL_KEY_PREFIX}" are reserved for referral rewards`);
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
    if (existing) return { existing, hash };
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
    const limitField = input.type === ActivityType.PURCHASE ? 'amount' : 'eventName';
    return { tenant, memberId, activity, hash, occurredAt, member, facts, campaigns, limitField };
  }

  /** Evaluates a prepared activity on `counters` (nothing to evaluate: nothing earned). */
  private evaluate(counters: Counters, p: Pick<Prepared, 'campaigns' | 'member' | 'facts' | 'limitField'>): Promise<Evaluation> {
    return p.campaigns.length > 0 ? evaluate(counters, p.campaigns, p.member, p.facts, p.limitField) : Promise.resolve({ awards: [], excluded: [] });
  }

  /**
   * previewActivity: what `record` would answer for the same input now, through the same
   * preparation and evaluation, on the stored counters read but not changed. Nothing is written: no
   * activity, reservation, idempotency key, audit entry or event. A used key previews its replay; an
   * order already recorded is the conflict `record` would report.
   */
  async preview(identity: Identity, input: ActivityInput): Promise<Preview> {
    const prepared = await this.prepare(identity, input);
    if ('existing' in prepared) {
      const { existing, hash } = prepared;
      if (existing.requestHash !== hash) throw new IdempotencyConflictError();
      return { memberId: existing.memberId, pointsEarned: existing.pointsEarned, awards: await this.activities.awards(this.db.manager, existing.id), excluded: existing.excludedCampaignIds };
    }
    const { tenant, memberId, activity } = prepared;
    await requireWritableMember(this.db.manager, tenant, memberId);
    if (activity.type === ActivityType.PURCHASE && activity.orderId && (await this.activities.orderRecorded(tenant, activity.orderId))) {
      throw new ConflictError('orderId', 'An activity for this orderId was already recorded');
    }
    const { awards, excluded } = await this.evaluate(this.currentCounters(), prepared);
    return { memberId, pointsEarned: awards.reduce((sum, a) => sum + a.points, 0), awards, excluded };
  }

  async record(identity: Identity, input: ActivityInput): Promise<EarnOutcome> {
    const prepared = await this.prepare(identity, input);
    if ('existing' in prepared) return this.replay(prepared.existing, prepared.hash);
    const { tenant, memberId, activity, hash, occurredAt, facts, member } = prepared;

    const referrer = rewardsReferrer(facts, member) ? member.referredBy : null;
    let firstPurchase = false;
    let outcome: Stored;
    try {
      // Its id is chosen here, so its audit entry is written before the reservation takes the
      // campaigns' budget rows (which every activity of the tenant queues on until commit).
      const id = randomUUID();
      outcome = await this.store({
        ...prepared,
        id,
        idempotencyKey: input.idempotencyKey,
        requestHash: hash,
        before: async (manager) => {
          await this.audit.record(manager, identity, { action: 'recordActivity', targetType: 'Activity', targetId: id, memberId, after: { ...activity, occurredAt: occurredAt.toISOString() } });
          return true;
        },
        // The referral reward is recorded with the purchase: a crash right after still leaves it to the retry job.
        after: async (manager, activityId) => {
          firstPurchase = referrer !== null && (await this.referrals.markFirstPurchase(manager, tenant, memberId, referrer, activityId));
        },
      });
    } catch (error) {
      if (!(error instanceof KeyTaken) && !(error instanceof OrderTaken)) throw error;
      // A twin with this key may have stored the same order first: that is a replay, not a conflict.
      const twin = await this.activities.byKey(tenant, input.idempotencyKey);
      if (twin) return this.replay(twin, hash);
      throw new ConflictError('orderId', 'An activity for this orderId was already recorded');
    }
    const { terms, ...earned } = outcome;
    const transactionId = earned.pointsEarned === 0 ? null : await this.settleCredit({ tenant, id: earned.activityId, memberId, pointsEarned: earned.pointsEarned, ...terms });
    // The purchase is recorded whatever happens to its referrer's reward; the retry job finishes one this leaves PENDING.
    // What the reward needs is at hand: the purchase, and the campaigns running at its time (the reservation rechecks them).
    if (firstPurchase) {
      await this.give({ tenant, referredMemberId: memberId, referrerId: referrer!, amount: activity.amount, occurredAt }, prepared.campaigns).catch((error: unknown) =>
        this.log.warn({ err: error, memberId }, 'referral reward left PENDING for the retry job'),
      );
    }
    return { ...earned, transactionId };
  }

  /**
   * Evaluates and stores one activity in one short transaction, retried when PostgreSQL picks it as
   * a deadlock's victim (reservations of one member take the same counters): caps and budgets are
   * reserved first, then the activity is stored with its totals, so a twin that stored the same key
   * meanwhile makes the insert find nothing (KeyTaken) and the rollback gives the reservation back.
   */
  private store(e: Earning): Promise<Stored> {
    const { tenant, activity, facts } = e;
    return retryTransaction(() =>
      this.db.transaction(async (manager): Promise<Stored> => {
        await requireWritableMember(manager, tenant, activity.memberId);
        if (!(await e.before(manager))) throw new KeyTaken();
        const { awards, excluded } = await this.evaluate(this.storedCounters(manager), e);
        const points = awards.reduce((sum, a) => sum + a.points, 0);
        // Stored with the activity, so every retry of its credit sends the very same request.
        const terms = {
          creditOrderId: activity.type === ActivityType.PURCHASE && points > 0 ? activity.orderId : null,
          creditPendingUntil: points > 0 ? pendingUntil(facts, awards) : null,
        };
        const activityId = await this.activities
          .insert(manager, e.id, {
            tenant,
            ...activity,
            occurredAt: facts.occurredAt,
            idempotencyKey: e.idempotencyKey,
            requestHash: e.requestHash,
            pointsEarned: points,
            creditStatus: points > 0 ? 'PENDING' : 'NONE',
            excludedCampaignIds: excluded,
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
            key: activity.memberId,
            payload: {
              activityId,
              memberId: activity.memberId,
              type: activity.type,
              amount: activity.amount,
              currency: activity.currency,
              storeId: activity.storeId,
              eventName: activity.eventName,
              occurredAt: facts.occurredAt.toISOString(),
              pointsEarned: points,
              awards: awards.map(({ campaignId, ruleId, points: p }) => ({ campaignId, ruleId, points: p })),
            },
          },
        ]);
        await e.after(manager, activityId);
        return { activityId, memberId: activity.memberId, pointsEarned: points, transactionId: null, awards, excluded, terms };
      }),
    );
  }

  /**
   * Gives the referrer its reward for a referred member's first purchase, if still PENDING: a
   * REFERRAL activity for the referrer, evaluated against the referrer's tier, eligibility, caps
   * and the campaigns running when the purchase happened, stored (keyed by the referred member, so
   * once) in the transaction that marks the reward DONE, then credited like any activity. An erased referrer gets nothing (SKIPPED). While members cannot be reached the
   * reward stays PENDING (LedgerUnavailableError / SERVICE_UNAVAILABLE reach the caller).
   * `runningAtPurchase`: the campaigns running at the purchase's time, if already read.
   */
  private async give(referral: PendingReferral, runningAtPurchase?: CampaignEntity[]): Promise<boolean> {
    const { tenant, referredMemberId, referrerId } = referral;
    let referrer: MemberSnapshot;
    try {
      referrer = await this.snapshot(tenant, referrerId);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      referrer = { id: referrerId, status: 'ERASED' } as MemberSnapshot;
    }
    if (referrer.status === 'ERASED') {
      await this.referrals.skipped(tenant, referredMemberId);
      return true;
    }
    const facts: ActivityFacts = { type: ActivityType.REFERRAL, amount: referral.amount, eventName: null, occurredAt: referral.occurredAt };
    const campaigns = referrer.status !== 'ACTIVE' ? [] : (runningAtPurchase ?? (await this.campaigns.runningAt(tenant, facts.occurredAt)));
    let stored: Stored;
    try {
      stored = await this.store({
        tenant,
        id: randomUUID(),
        activity: { memberId: referrerId, type: ActivityType.REFERRAL, amount: referral.amount, currency: null, orderId: null, storeId: null, channel: null, eventName: null },
        facts,
        member: referrer,
        campaigns,
        idempotencyKey: referralKey(referredMemberId),
        requestHash: requestFingerprint([referrerId, ActivityType.REFERRAL, referredMemberId]),
        limitField: 'amount',
        // Taken first: another process giving the same reward waits here, then finds it given.
        before: (manager) => this.referrals.lockPending(manager, tenant, referredMemberId),
        after: (manager, activityId) => this.referrals.done(manager, tenant, referredMemberId, activityId),
      });
    } catch (error) {
      if (error instanceof KeyTaken) return true;
      // Erased here since the snapshot was read (its activities are closed), or an award no ledger
      // move can carry: no retry changes either.
      if (error instanceof NotFoundError || error instanceof BadInputError) {
        this.log.warn({ err: error, referredMemberId, referrerId }, 'referral reward skipped');
        await this.referrals.skipped(tenant, referredMemberId);
        return true;
      }
      throw error;
    }
    if (stored.pointsEarned > 0) await this.settleCredit({ tenant, id: stored.activityId, memberId: referrerId, pointsEarned: stored.pointsEarned, ...stored.terms });
    return true;
  }

  /** The retry job: gives referral rewards left PENDING (a crash, members unreachable) for over `olderThanMs`. */
  async referralsPending(olderThanMs: number, limit = 100): Promise<number> {
    return recoverPending(await this.referrals.pending(olderThanMs, limit), (referral) => this.give(referral));
  }

  /** The stored counters, reserved on in `manager`'s transaction (recordActivity). */
  private storedCounters(manager: EntityManager): Counters {
    return {
      claimCaps: (memberId, claims) => this.activities.claimCaps(manager, memberId, claims),
      claimBudgets: (wanted, at) => this.campaigns.claimBudgets(manager, wanted, at),
      releaseCaps: (memberId, releases) => this.activities.addToCaps(manager, memberId, releases.map((r) => ({ ...r, points: -r.points }))),
      releaseBudgets: (released) => this.campaigns.addIssued(manager, new Map([...released].map(([id, points]) => [id, -points]))),
    };
  }

  /** The stored counters as they are now, read and never changed (previewActivity). */
  private currentCounters(): Counters {
    return {
      claimCaps: async (memberId, claims) => {
        const used = await this.activities.capsUsed(memberId, claims);
        return claims.map((c, i) => Math.max(0, Math.min(c.points, c.cap - used[i]!)));
      },
      claimBudgets: (wanted, at) => this.campaigns.peekBudgets(wanted, at),
      releaseCaps: async () => {},
      releaseBudgets: async () => {},
    };
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
    const counters = this.storedCounters(manager);
    await counters.releaseCaps(memberId, awards.flatMap((a) => (a.periodKey ? [{ ruleId: a.ruleId, periodKey: a.periodKey, points: a.points }] : [])).sort(byRuleId));
    const perCampaign = new Map<string, number>();
    for (const a of awards) perCampaign.set(a.campaignId, (perCampaign.get(a.campaignId) ?? 0) + a.points);
    await counters.releaseBudgets(perCampaign);
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
      excluded: existing.excludedCampaignIds,
    };
  }

  /** The retry job: credits activities left PENDING (a crash, members unreachable) for over `olderThanMs`. */
  async creditPending(olderThanMs: number, limit = 100): Promise<number> {
    const pending = await this.activities.pending(olderThanMs, limit);
    // Credited, or released on a refusal: either way finished.
    return recoverPending(pending, async (a) => (await this.settleCredit(a)) !== null);
  }
}

/** The retry job: every `intervalMs`, credits activities PENDING for over `olderThanMs`. */
export function startCreditRetry(service: ActivityService, log: Logger, intervalMs: number, olderThanMs: number): () => Promise<void> {
  return startRecoveryJob(
    { name: 'activity credit retry', intervalMs, run: () => service.creditPending(olderThanMs), message: 'credited pending activities', countedAs: 'credited' },
    log,
  );
}

/** The referral retry job: every `intervalMs`, gives referral rewards PENDING for over `olderThanMs`. */
export function startReferralRetry(service: ActivityService, log: Logger, intervalMs: number, olderThanMs: number): () => Promise<void> {
  return startRecoveryJob(
    { name: 'referral reward retry', intervalMs, run: () => service.referralsPending(olderThanMs), message: 'gave pending referral rewards', countedAs: 'given' },
    log,
  );
}
