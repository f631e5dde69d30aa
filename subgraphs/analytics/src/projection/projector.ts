import type { DataSource, EntityManager } from 'typeorm';
import {
  EVENT_CATALOG,
  eventReader,
  ledgerTransaction,
  type BusConsumer,
  type ConsumerPositions,
  type BusEvent,
  type ConsumedBy,
  type EventBus,
  type LedgerTransaction,
  type Logger,
  type ReadEvent,
} from '@loyalty/kit';
import {
  DAILY_COLUMNS,
  type CampaignMember,
  type CampaignTotals,
  type DailyColumn,
  type ActivityFact,
  type AwardFact,
  type ExperimentFact,
  type MemberFact,
  type DailyTotals,
  type DayTable,
  type DayTotal,
  type MemberDay,
  type ProjectionRepository,
  type RedemptionFact,
} from './projection.repository';

export const CONSUMER = 'analytics';
/**
 * Events per batch: each batch costs a handful of statements whatever its size, and members and
 * days repeat within it, so a larger batch writes fewer rows per event (a backlog drains faster).
 */
const BATCH = 5000;

/**
 * Which points column a ledger movement moves (signed, so outstanding = sum of every delta). A
 * TRANSFER moves none: its debit and credit cancel out, and points passed between members were
 * neither issued nor redeemed.
 */
const POINTS_COLUMN: Record<Exclude<LedgerTransaction['type'], 'TRANSFER'>, { column: DailyColumn; sign: 1 | -1 }> = {
  EARN: { column: 'points_issued', sign: 1 },
  ADJUST: { column: 'points_issued', sign: 1 },
  REDEEM: { column: 'points_redeemed', sign: -1 },
  REVERSAL: { column: 'points_redeemed', sign: -1 },
  EXPIRE: { column: 'points_expired', sign: -1 },
};

/** The changes one batch of events makes, summed in memory and written with a few statements. */
class BatchChanges {
  daily = new Map<string, DailyTotals>();
  memberDays = new Map<string, MemberDay>();
  /** Per reward and per store: the same counts, each by its own key. */
  dayTotals: Record<DayTable, Map<string, DayTotal>> = { reward_days: new Map(), store_days: new Map() };
  campaigns = new Map<string, CampaignTotals>();
  campaignMembers = new Map<string, CampaignMember>();
  facts: RedemptionFact[] = [];
  cancellations: string[] = [];
  /** For experiment reports: facts per member, not totals. */
  members: MemberFact[] = [];
  activities: ActivityFact[] = [];
  awards = new Map<string, AwardFact>();
  /** The latest state of each campaign's experiment in the batch (null: removed). */
  experiments = new Map<string, ExperimentFact>();

  add(tenant: string, day: string, column: DailyColumn, amount: number) {
    const key = `${tenant}|${day}`;
    const row = this.daily.get(key) ?? { tenant, day, values: Object.fromEntries(DAILY_COLUMNS.map((c) => [c, 0])) as Record<DailyColumn, number> };
    row.values[column] += amount;
    this.daily.set(key, row);
  }

  active(tenant: string, day: string, memberId: string) {
    this.memberDays.set(`${tenant}|${day}|${memberId}`, { tenant, day, memberId });
  }

  redemption(tenant: string, day: string, rewardId: string, storeId: string, n: number, points: number) {
    this.add(tenant, day, 'redemptions', n);
    this.dayTotal('reward_days', tenant, rewardId, day, n, points);
    this.dayTotal('store_days', tenant, storeId, day, n, points);
  }

  private dayTotal(table: DayTable, tenant: string, key: string, day: string, n: number, points: number) {
    const totals = this.dayTotals[table];
    const total = totals.get(`${tenant}|${key}|${day}`) ?? { tenant, key, day, redemptions: 0, points: 0 };
    total.redemptions += n;
    total.points += points;
    totals.set(`${tenant}|${key}|${day}`, total);
  }
}

/** What the reports read of each event (the fields they use, checked by the catalogue's schemas). */
const readers = {
  MEMBER_ENROLLED: EVENT_CATALOG.MEMBER_ENROLLED.payload.pick({ memberId: true }),
  POINTS_BALANCE_CHANGED: EVENT_CATALOG.POINTS_BALANCE_CHANGED.payload
    .pick({ memberId: true, delta: true })
    .extend({ transaction: ledgerTransaction.pick({ type: true }) }),
  ACTIVITY_RECORDED: EVENT_CATALOG.ACTIVITY_RECORDED.payload.pick({ activityId: true, memberId: true, type: true, amount: true, occurredAt: true, awards: true }),
  REDEMPTION_COMPLETED: EVENT_CATALOG.REDEMPTION_COMPLETED.payload.pick({ redemptionId: true, memberId: true, rewardId: true, storeId: true, pointsSpent: true }),
  CAMPAIGN_EXPERIMENT_CHANGED: EVENT_CATALOG.CAMPAIGN_EXPERIMENT_CHANGED.payload,
  REDEMPTION_CANCELLED: EVENT_CATALOG.REDEMPTION_CANCELLED.payload.pick({ redemptionId: true }),
  ORDER_RETURNED: EVENT_CATALOG.ORDER_RETURNED.payload.pick({ reversals: true }),
};
const read = eventReader('analytics', readers);
type Read<T extends ConsumedBy<'analytics'>> = Extract<ReadEvent<typeof readers>, { type: T }>;

/** One handler per event type: a new report reads a new event type without touching the others. */
const handlers: { [T in ConsumedBy<'analytics'>]: (changes: BatchChanges, event: Read<T>, day: string) => void } = {
  MEMBER_ENROLLED: (changes, event, day) => {
    changes.add(event.tenant, day, 'members_enrolled', 1);
    changes.members.push({ tenant: event.tenant, memberId: event.payload.memberId, enrolledAt: event.occurredAt });
  },
  POINTS_BALANCE_CHANGED: (changes, event, day) => {
    const { delta, transaction, memberId } = event.payload;
    if (transaction.type === 'TRANSFER') {
      // The sender acted; the receiver did nothing by receiving.
      if (delta < 0) changes.active(event.tenant, day, memberId);
      return;
    }
    // A REVERSAL debit is a return taking back earned points: issued points count net of returns.
    const target = transaction.type === 'REVERSAL' && delta < 0 ? POINTS_COLUMN.EARN : POINTS_COLUMN[transaction.type];
    changes.add(event.tenant, day, target.column, target.sign * delta);
    changes.active(event.tenant, day, memberId);
  },
  ACTIVITY_RECORDED: (changes, event, day) => {
    const { activityId, type, amount, memberId, occurredAt, awards } = event.payload;
    if (type === 'PURCHASE' && amount) changes.add(event.tenant, day, 'purchase_revenue', amount);
    changes.activities.push({ activityId, tenant: event.tenant, memberId, occurredAt, purchaseAmount: type === 'PURCHASE' ? (amount ?? 0) : 0 });
    for (const award of awards) {
      const fact = changes.awards.get(`${award.campaignId}|${activityId}`) ?? { activityId, campaignId: award.campaignId, memberId, occurredAt, points: 0 };
      fact.points += award.points;
      changes.awards.set(`${award.campaignId}|${activityId}`, fact);
    }
    const touched = new Set<string>();
    for (const award of awards) {
      const campaign = changes.campaigns.get(award.campaignId) ?? { campaignId: award.campaignId, tenant: event.tenant, points: 0, activities: 0 };
      campaign.points += award.points;
      if (!touched.has(award.campaignId)) campaign.activities += 1;
      touched.add(award.campaignId);
      changes.campaigns.set(award.campaignId, campaign);
      changes.campaignMembers.set(`${award.campaignId}|${memberId}`, { campaignId: award.campaignId, memberId });
    }
    changes.active(event.tenant, day, memberId);
  },
  REDEMPTION_COMPLETED: (changes, event, day) => {
    const p = event.payload;
    const storeId = p.storeId ?? '';
    changes.facts.push({ redemptionId: p.redemptionId, tenant: event.tenant, rewardId: p.rewardId, storeId, day, points: p.pointsSpent, memberId: p.memberId, at: event.occurredAt });
    changes.redemption(event.tenant, day, p.rewardId, storeId, 1, p.pointsSpent);
    changes.active(event.tenant, day, p.memberId);
  },
  REDEMPTION_CANCELLED: (changes, event) => {
    changes.cancellations.push(event.payload.redemptionId);
  },
  CAMPAIGN_EXPERIMENT_CHANGED: (changes, event) => {
    const { campaignId, experiment } = event.payload;
    changes.experiments.set(campaignId, { tenant: event.tenant, campaignId, experiment });
  },
  ORDER_RETURNED: (changes, event) => {
    // A campaign's performance counts net of returns: each rule's share of what was taken back.
    // The activity still happened and its member still earned there, so those counts stay.
    for (const reversal of event.payload.reversals) {
      const campaign = changes.campaigns.get(reversal.campaignId) ?? { campaignId: reversal.campaignId, tenant: event.tenant, points: 0, activities: 0 };
      campaign.points -= reversal.points;
      changes.campaigns.set(reversal.campaignId, campaign);
    }
  },
};

/** Hands an event to the handler of its type. TypeScript cannot pair a union member with its handler by itself (microsoft/TypeScript#30581): this is the one place that does. */
function handle(changes: BatchChanges, event: ReadEvent<typeof readers>, day: string): void {
  (handlers[event.type] as (changes: BatchChanges, event: ReadEvent<typeof readers>, day: string) => void)(changes, event, day);
}

/**
 * Applies bus events to the read models. Each batch is one transaction: the consumer's position is
 * locked and advanced with the aggregates, events at or below it are skipped, so restarts, replays
 * and concurrent replicas never count an event twice. A batch's changes are summed in memory and
 * written with a handful of multi-row statements, whatever its size.
 *
 * An event of a type analytics consumes that does not match its schema stops the projection: the
 * batch rolls back and is retried, logged each time, until a fix is deployed. Skipping it would
 * leave points or redemptions out of the reports for good, with nothing to say so; stopping leaves
 * them late and says why. Event types analytics does not consume are passed over.
 */
export class Projector {
  private consumer?: BusConsumer;

  constructor(
    private readonly db: DataSource,
    private readonly repository: ProjectionRepository,
    private readonly positions: ConsumerPositions,
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.positions.register(CONSUMER);
    this.consumer = await this.bus.consume(await this.position(), (events) => this.apply(events), { batch: BATCH });
    this.log.info({ position: this.consumer.position() }, 'analytics consumer started');
  }

  /** The last bus position applied. */
  position(): Promise<string> {
    return this.positions.position(CONSUMER);
  }

  async apply(events: BusEvent[]): Promise<void> {
    await this.db.transaction(async (manager) => {
      const position = await this.positions.lock(manager, CONSUMER);
      const fresh = events.filter((event) => BigInt(event.position) > BigInt(position));
      if (fresh.length === 0) return;
      const changes = new BatchChanges();
      for (const busEvent of fresh) {
        const result = read(busEvent);
        if (result.status === 'ignored') continue;
        if (result.status === 'invalid') {
          this.log.error({ err: result.error, position: busEvent.position }, 'analytics stopped at an event that does not match its schema');
          throw result.error;
        }
        handle(changes, result.event, busEvent.occurredAt.slice(0, 10));
      }
      await this.write(manager, changes);
      await this.positions.advance(manager, CONSUMER, fresh.at(-1)!.position);
    });
  }

  private async write(manager: EntityManager, changes: BatchChanges): Promise<void> {
    if (changes.facts.length > 0) await this.repository.insertFacts(manager, changes.facts);
    if (changes.cancellations.length > 0) {
      // Taken off where the redemption was counted (its day, reward and store), once.
      for (const f of await this.repository.cancelFacts(manager, changes.cancellations)) changes.redemption(f.tenant, f.day, f.rewardId, f.storeId, -1, -f.points);
    }
    const daily = [...changes.daily.values()];
    if (daily.length > 0) await this.repository.addDaily(manager, daily);
    const memberDays = [...changes.memberDays.values()];
    if (memberDays.length > 0) await this.repository.addMemberDays(manager, memberDays);
    for (const table of ['reward_days', 'store_days'] as const) {
      const totals = [...changes.dayTotals[table].values()];
      if (totals.length > 0) await this.repository.addDayTotals(manager, table, totals);
    }
    if (changes.members.length > 0) await this.repository.addMembers(manager, changes.members);
    if (changes.activities.length > 0) await this.repository.addActivities(manager, changes.activities);
    if (changes.awards.size > 0) await this.repository.addAwards(manager, [...changes.awards.values()]);
    for (const experiment of changes.experiments.values()) await this.repository.setExperiment(manager, experiment);
    const campaigns = [...changes.campaigns.values()];
    if (campaigns.length > 0) {
      await this.repository.addCampaigns(manager, campaigns);
      await this.repository.addCampaignMembers(manager, [...changes.campaignMembers.values()]);
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
  }
}
