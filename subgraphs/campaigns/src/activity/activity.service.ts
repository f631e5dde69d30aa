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
  runLedgerStep,
  startRecoveryJob,
  type Identity,
  type LedgerClient,
  type Logger,
  type MemberSnapshot,
  uniqueViolation,
} from '@loyalty/kit';
import { CampaignEntity } from '../campaign/campaign.entity';
import { runningSql } from '../campaign/campaign.status';
import { award, isEligible, periodKey, type ActivityFacts, type MemberFacts } from '../rules/rules';
import type { ActivityInput } from './activity.inputs';

export interface Award {
  campaignId: string;
  ruleId: string;
  points: number;
  periodKey: string | null;
  /** The campaign as the reservation left it (set when this request evaluated it, not on replays). */
  campaign?: CampaignEntity;
}

export interface EarnOutcome {
  activityId: string;
  memberId: string;
  pointsEarned: number;
  transactionId: string | null;
  awards: Award[];
}

interface ActivityRow {
  id: string;
  tenant: string;
  member_id: string;
  request_hash: string;
  points_earned: number;
  credit_status: 'NONE' | 'PENDING' | 'CREDITED' | 'FAILED';
  transaction_id: string | null;
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
 * rules are evaluated against the member's current tier, country and attributes; budget and caps
 * are reserved in the same transaction that stores the activity (campaign rows locked, so
 * concurrent activities never overshoot); then the members ledger is asked to credit with a key
 * derived from the activity. If members cannot be reached the activity stays PENDING and
 * `creditPending` (a retry job, or a retry of the request) repeats the credit until members
 * confirms; a permanent refusal releases the budget and caps (the kit's ledger saga, saga.ts). Without the member's snapshot nothing
 * can be evaluated, so while members is down a new activity is refused as SERVICE_UNAVAILABLE
 * (retryable, nothing stored): the till sends it again under the same key.
 */
export class ActivityService {
  constructor(
    private readonly db: DataSource,
    private readonly ledger: LedgerClient,
    private readonly log: Logger,
    private readonly options: ActivityOptions,
  ) {}

  async record(identity: Identity, input: ActivityInput): Promise<EarnOutcome> {
    const memberId = parseId(input.memberId, 'memberId');
    if (input.type === 'PURCHASE') {
      if (input.amount === null || input.amount === undefined) throw new BadInputError('amount', 'a PURCHASE needs an amount');
      if (input.amount < 0) throw new BadInputError('amount', 'amount must not be negative');
    }
    if (input.type === 'CUSTOM_EVENT' && !input.eventName) throw new BadInputError('eventName', 'a CUSTOM_EVENT needs an eventName');
    if (input.occurredAt && input.occurredAt.getTime() > Date.now() + FUTURE_TOLERANCE_MS) {
      throw new BadInputError('occurredAt', 'occurredAt is in the future');
    }
    const { tenant } = identity;
    const occurredAt = input.occurredAt ?? new Date();
    const hash = requestFingerprint([memberId, input.type, input.amount ?? null, input.currency?.toUpperCase() ?? null, input.orderId ?? null,
          input.storeId ?? null, input.channel ?? null, input.eventName ?? null, input.occurredAt?.toISOString() ?? null]);

    const existing = await this.byKey(tenant, input.idempotencyKey);
    if (existing) return this.replay(existing, hash);
    // After the replay: a till retrying an activity it recorded in time still gets its answer.
    if (input.occurredAt && input.occurredAt.getTime() < Date.now() - this.options.maxBackdateDays * DAY_MS) {
      throw new BadInputError('occurredAt', `occurredAt may lie at most ${this.options.maxBackdateDays} days in the past`);
    }

    const member = await this.snapshot(tenant, memberId);
    const facts: ActivityFacts = {
      type: input.type,
      amount: input.type === 'PURCHASE' ? input.amount! : null,
      eventName: input.type === 'CUSTOM_EVENT' ? input.eventName! : null,
      occurredAt,
    };

    let outcome: EarnOutcome;
    try {
      outcome = await this.db.transaction(async (manager) => {
        // Reserve first, then store the activity with its totals: a twin that stored the same key
        // meanwhile makes the insert find nothing, and the rollback gives the reservation back.
        const awards = member.status === 'ACTIVE' ? await this.reserve(manager, tenant, member, facts, input.type === 'PURCHASE' ? 'amount' : 'eventName') : [];
        const points = awards.reduce((sum, a) => sum + a.points, 0);
        const [row] = (await manager.query(
          `INSERT INTO activities (tenant, member_id, type, amount, currency, order_id, store_id, channel, event_name,
             occurred_at, idempotency_key, request_hash, points_earned, credit_status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id`,
          [tenant, memberId, input.type, input.amount ?? null, input.currency?.toUpperCase() ?? null, input.orderId ?? null,
            input.storeId ?? null, input.channel ?? null, input.eventName ?? null, occurredAt, input.idempotencyKey, hash,
            points, points > 0 ? 'PENDING' : 'NONE'],
        ).catch((error: unknown) => {
          if (uniqueViolation(error) === 'activities_purchase_order') throw new OrderTaken();
          throw error;
        })) as { id: string }[];
        if (!row) throw new KeyTaken();
        if (awards.length > 0) {
          await manager.query(
            `INSERT INTO activity_awards (activity_id, campaign_id, rule_id, points, cap_period_key)
             SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::text[])`,
            [row.id, awards.map((a) => a.campaignId), awards.map((a) => a.ruleId), awards.map((a) => a.points), awards.map((a) => a.periodKey)],
          );
        }
        await appendOutbox(manager, [
          {
            type: 'ACTIVITY_RECORDED',
            tenant,
            key: memberId,
            payload: {
              activityId: row.id,
              memberId,
              type: input.type,
              amount: input.amount ?? null,
              currency: input.currency?.toUpperCase() ?? null,
              storeId: input.storeId ?? null,
              eventName: input.eventName ?? null,
              occurredAt: occurredAt.toISOString(),
              pointsEarned: points,
              awards: awards.map(({ campaignId, ruleId, points: p }) => ({ campaignId, ruleId, points: p })),
            },
          },
        ]);
        return { activityId: row.id, memberId, pointsEarned: points, transactionId: null, awards };
      });
    } catch (error) {
      if (!(error instanceof KeyTaken) && !(error instanceof OrderTaken)) throw error;
      // A twin with this key may have stored the same order first: that is a replay, not a conflict.
      const twin = await this.byKey(tenant, input.idempotencyKey);
      if (twin) return this.replay(twin, hash);
      throw new ConflictError('orderId', 'An activity for this orderId was already recorded');
    }
    if (outcome.pointsEarned === 0) return outcome;
    return { ...outcome, transactionId: await this.credit(tenant, outcome.activityId, memberId, outcome.pointsEarned) };
  }

  /**
   * Evaluates every active campaign's rules and reserves what they award; an award past one
   * ledger move's limit is blamed on `limitField`, the input that drove it. The campaign rows are
   * locked (in id order, so concurrent activities never deadlock): budgets, caps and the kill
   * switch are decided one activity at a time per campaign, in PostgreSQL.
   */
  private async reserve(manager: EntityManager, tenant: string, member: MemberSnapshot, facts: ActivityFacts, limitField: string): Promise<Award[]> {
    const campaigns = await manager
      .getRepository(CampaignEntity)
      .createQueryBuilder('c')
      .where('c.tenant = :tenant', { tenant })
      .andWhere(runningSql('c', ':at'), { at: facts.occurredAt })
      .orderBy('c.id')
      .setLock('pessimistic_write')
      .getMany();
    const memberFacts: MemberFacts = {
      country: member.country,
      tierRank: member.tier.rank,
      earnMultiplier: member.tier.earnMultiplier,
      attributes: member.attributes,
    };
    const awards: Award[] = [];
    let total = 0;
    for (const campaign of campaigns) {
      if (!isEligible(campaign.eligibility, memberFacts)) continue;
      let budgetLeft = campaign.maxPoints === null ? Number.POSITIVE_INFINITY : campaign.maxPoints - campaign.pointsIssued;
      let issued = 0;
      for (const rule of campaign.rules) {
        let points = Math.min(award(rule, facts, memberFacts, campaign.timeZone), budgetLeft);
        if (points <= 0) continue;
        let key: string | null = null;
        if (rule.maxPointsPerMember !== null && rule.capPeriod !== null) {
          key = periodKey(rule.capPeriod, facts.occurredAt, campaign.timeZone);
          await manager.query(
            'INSERT INTO member_caps (rule_id, member_id, period_key, points) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING',
            [rule.id, member.id, key],
          );
          const [{ used }] = (await manager.query(
            'SELECT points AS used FROM member_caps WHERE rule_id = $1 AND member_id = $2 AND period_key = $3 FOR UPDATE',
            [rule.id, member.id, key],
          )) as [{ used: number }];
          points = Math.min(points, rule.maxPointsPerMember - used);
          if (points <= 0) continue;
          total = this.withinMoveLimit(total, points, limitField);
          await manager.query('UPDATE member_caps SET points = points + $4 WHERE rule_id = $1 AND member_id = $2 AND period_key = $3', [
            rule.id,
            member.id,
            key,
            points,
          ]);
        } else {
          total = this.withinMoveLimit(total, points, limitField);
        }
        budgetLeft -= points;
        issued += points;
        awards.push({ campaignId: campaign.id, ruleId: rule.id, points, periodKey: key, campaign });
      }
      if (issued > 0) {
        await manager.query('UPDATE campaigns SET points_issued = points_issued + $2 WHERE id = $1', [campaign.id, issued]);
        campaign.pointsIssued += issued; // the row is locked: this is its committed value
      }
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
   * Asks members to credit (idempotently, keyed by the activity) through the ledger saga. Returns the
   * ledger transaction id, or null while members cannot be reached (the activity stays PENDING for
   * the retry job).
   */
  private credit(tenant: string, activityId: string, memberId: string, points: number): Promise<string | null> {
    return runLedgerStep<string | null>({
      call: () =>
        this.ledger.credit({ tenant, memberId, points, type: 'EARN', idempotencyKey: creditKey(activityId), reference: activityId, reason: 'Campaign earning' }),
      settle: async (transactionId) => {
        await this.db.query(`UPDATE activities SET credit_status = 'CREDITED', transaction_id = $2 WHERE id = $1 AND credit_status = 'PENDING'`, [
          activityId,
          transactionId,
        ]);
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
      const updated = (await manager.query(`UPDATE activities SET credit_status = 'FAILED' WHERE id = $1 AND credit_status = 'PENDING' RETURNING member_id`, [
        activityId,
      ])) as [{ member_id: string }[], number];
      const memberId = updated[0][0]?.member_id;
      if (!memberId) return;
      const awards = (await manager.query('SELECT campaign_id, rule_id, points, cap_period_key FROM activity_awards WHERE activity_id = $1', [
        activityId,
      ])) as { campaign_id: string; rule_id: string; points: number; cap_period_key: string | null }[];
      for (const a of awards) {
        await manager.query('UPDATE campaigns SET points_issued = points_issued - $2 WHERE id = $1', [a.campaign_id, a.points]);
        if (a.cap_period_key) {
          await manager.query('UPDATE member_caps SET points = points - $4 WHERE rule_id = $1 AND member_id = $2 AND period_key = $3', [
            a.rule_id,
            memberId,
            a.cap_period_key,
            a.points,
          ]);
        }
      }
    });
  }

  private async replay(existing: ActivityRow, hash: string): Promise<EarnOutcome> {
    if (existing.request_hash !== hash) throw new IdempotencyConflictError();
    let transactionId = existing.transaction_id;
    if (existing.credit_status === 'PENDING') {
      transactionId = await this.credit(existing.tenant, existing.id, existing.member_id, existing.points_earned);
    }
    const awards = (await this.db.query('SELECT campaign_id, rule_id, points, cap_period_key FROM activity_awards WHERE activity_id = $1', [
      existing.id,
    ])) as { campaign_id: string; rule_id: string; points: number; cap_period_key: string | null }[];
    return {
      activityId: existing.id,
      memberId: existing.member_id,
      pointsEarned: existing.points_earned,
      transactionId,
      awards: awards.map((a) => ({ campaignId: a.campaign_id, ruleId: a.rule_id, points: a.points, periodKey: a.cap_period_key })),
    };
  }

  /** The retry job: credits activities left PENDING (a crash, members unreachable) for over `olderThanMs`. */
  async creditPending(olderThanMs: number, limit = 100): Promise<number> {
    const pending = (await this.db.query(
      `SELECT * FROM activities WHERE credit_status = 'PENDING' AND created_at < now() - make_interval(secs => $1)
       ORDER BY created_at LIMIT $2`,
      [olderThanMs / 1000, limit],
    )) as ActivityRow[];
    // Credited, or released on a refusal: either way finished.
    return recoverPending(pending, async (a) => (await this.credit(a.tenant, a.id, a.member_id, a.points_earned)) !== null);
  }

  private async byKey(tenant: string, key: string): Promise<ActivityRow | null> {
    const [row] = (await this.db.query('SELECT * FROM activities WHERE tenant = $1 AND idempotency_key = $2', [tenant, key])) as ActivityRow[];
    return row ?? null;
  }
}

/** The retry job: every `intervalMs`, credits activities PENDING for over `olderThanMs`. */
export function startCreditRetry(service: ActivityService, log: Logger, intervalMs: number, olderThanMs: number): () => Promise<void> {
  return startRecoveryJob(
    { name: 'activity credit retry', intervalMs, run: () => service.creditPending(olderThanMs), message: 'credited pending activities', countedAs: 'credited' },
    log,
  );
}
