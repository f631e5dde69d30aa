import type { DataSource, EntityManager } from 'typeorm';
import {
  EVENT_CATALOG,
  eventReader,
  ledgerTransaction,
  type BusConsumer,
  type BusEvent,
  type ConsumedBy,
  type EventBus,
  type LedgerTransaction,
  type Logger,
  type ReadEvent,
} from '@loyalty/kit';

export const CONSUMER = 'analytics';

const DAILY_COLUMNS = ['members_enrolled', 'points_issued', 'points_redeemed', 'points_expired', 'redemptions', 'purchase_revenue'] as const;
type DailyColumn = (typeof DAILY_COLUMNS)[number];

/** Which points column a ledger movement moves (signed, so outstanding = sum of every delta). */
const POINTS_COLUMN: Record<LedgerTransaction['type'], { column: DailyColumn; sign: 1 | -1 }> = {
  EARN: { column: 'points_issued', sign: 1 },
  ADJUST: { column: 'points_issued', sign: 1 },
  REDEEM: { column: 'points_redeemed', sign: -1 },
  REVERSAL: { column: 'points_redeemed', sign: -1 },
  EXPIRE: { column: 'points_expired', sign: -1 },
};

/** The changes one batch of events makes, summed in memory and written with a few statements. */
class BatchChanges {
  daily = new Map<string, Record<DailyColumn, number>>();
  memberDays = new Map<string, [string, string, string]>();
  rewards = new Map<string, { tenant: string; rewardId: string; day: string; redemptions: number; points: number }>();
  stores = new Map<string, { tenant: string; storeId: string; day: string; redemptions: number; points: number }>();
  campaigns = new Map<string, { tenant: string; points: number; activities: number }>();
  campaignMembers = new Set<string>();
  facts: { redemptionId: string; tenant: string; rewardId: string; storeId: string; day: string; points: number }[] = [];
  cancellations: string[] = [];

  add(tenant: string, day: string, column: DailyColumn, amount: number) {
    const key = `${tenant}|${day}`;
    const row = this.daily.get(key) ?? (Object.fromEntries(DAILY_COLUMNS.map((c) => [c, 0])) as Record<DailyColumn, number>);
    row[column] += amount;
    this.daily.set(key, row);
  }

  active(tenant: string, day: string, memberId: string) {
    this.memberDays.set(`${tenant}|${day}|${memberId}`, [tenant, day, memberId]);
  }

  redemption(tenant: string, day: string, rewardId: string, storeId: string, n: number, points: number) {
    this.add(tenant, day, 'redemptions', n);
    const reward = this.rewards.get(`${tenant}|${rewardId}|${day}`) ?? { tenant, rewardId, day, redemptions: 0, points: 0 };
    reward.redemptions += n;
    reward.points += points;
    this.rewards.set(`${tenant}|${rewardId}|${day}`, reward);
    const store = this.stores.get(`${tenant}|${storeId}|${day}`) ?? { tenant, storeId, day, redemptions: 0, points: 0 };
    store.redemptions += n;
    store.points += points;
    this.stores.set(`${tenant}|${storeId}|${day}`, store);
  }
}

/** What the reports read of each event (the fields they use, checked by the catalogue's schemas). */
const readers = {
  MEMBER_ENROLLED: EVENT_CATALOG.MEMBER_ENROLLED.payload.pick({ memberId: true }),
  POINTS_BALANCE_CHANGED: EVENT_CATALOG.POINTS_BALANCE_CHANGED.payload
    .pick({ memberId: true, delta: true })
    .extend({ transaction: ledgerTransaction.pick({ type: true }) }),
  ACTIVITY_RECORDED: EVENT_CATALOG.ACTIVITY_RECORDED.payload.pick({ memberId: true, type: true, amount: true, awards: true }),
  REDEMPTION_COMPLETED: EVENT_CATALOG.REDEMPTION_COMPLETED.payload.pick({ redemptionId: true, memberId: true, rewardId: true, storeId: true, pointsSpent: true }),
  REDEMPTION_CANCELLED: EVENT_CATALOG.REDEMPTION_CANCELLED.payload.pick({ redemptionId: true }),
};
const read = eventReader('analytics', readers);
type Read<T extends ConsumedBy<'analytics'>> = Extract<ReadEvent<typeof readers>, { type: T }>;

/** One handler per event type: a new report reads a new event type without touching the others. */
const handlers: { [T in ConsumedBy<'analytics'>]: (changes: BatchChanges, event: Read<T>, day: string) => void } = {
  MEMBER_ENROLLED: (changes, event, day) => {
    changes.add(event.tenant, day, 'members_enrolled', 1);
  },
  POINTS_BALANCE_CHANGED: (changes, event, day) => {
    const { delta, transaction, memberId } = event.payload;
    const target = POINTS_COLUMN[transaction.type];
    changes.add(event.tenant, day, target.column, target.sign * delta);
    changes.active(event.tenant, day, memberId);
  },
  ACTIVITY_RECORDED: (changes, event, day) => {
    const { type, amount, memberId, awards } = event.payload;
    if (type === 'PURCHASE' && amount) changes.add(event.tenant, day, 'purchase_revenue', amount);
    const touched = new Set<string>();
    for (const award of awards) {
      const campaign = changes.campaigns.get(award.campaignId) ?? { tenant: event.tenant, points: 0, activities: 0 };
      campaign.points += award.points;
      if (!touched.has(award.campaignId)) campaign.activities += 1;
      touched.add(award.campaignId);
      changes.campaigns.set(award.campaignId, campaign);
      changes.campaignMembers.add(`${award.campaignId}|${memberId}`);
    }
    changes.active(event.tenant, day, memberId);
  },
  REDEMPTION_COMPLETED: (changes, event, day) => {
    const p = event.payload;
    const storeId = p.storeId ?? '';
    changes.facts.push({ redemptionId: p.redemptionId, tenant: event.tenant, rewardId: p.rewardId, storeId, day, points: p.pointsSpent });
    changes.redemption(event.tenant, day, p.rewardId, storeId, 1, p.pointsSpent);
    changes.active(event.tenant, day, p.memberId);
  },
  REDEMPTION_CANCELLED: (changes, event) => {
    changes.cancellations.push(event.payload.redemptionId);
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
    private readonly bus: EventBus,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await this.db.query('INSERT INTO consumer_positions (name, position) VALUES ($1, 0) ON CONFLICT DO NOTHING', [CONSUMER]);
    this.consumer = await this.bus.consume(await this.position(), (events) => this.apply(events));
    this.log.info({ position: this.consumer.position() }, 'analytics consumer started');
  }

  /** The last bus position applied. */
  async position(): Promise<string> {
    const [row] = (await this.db.query('SELECT position FROM consumer_positions WHERE name = $1', [CONSUMER])) as { position: string }[];
    return String(row?.position ?? 0);
  }

  async apply(events: BusEvent[]): Promise<void> {
    await this.db.transaction(async (manager) => {
      const [{ position }] = (await manager.query('SELECT position FROM consumer_positions WHERE name = $1 FOR UPDATE', [CONSUMER])) as [
        { position: string },
      ];
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
      await manager.query('UPDATE consumer_positions SET position = $2 WHERE name = $1', [CONSUMER, fresh.at(-1)!.position]);
    });
  }

  private async write(manager: EntityManager, changes: BatchChanges): Promise<void> {
    if (changes.facts.length > 0) {
      await manager.query(
        `INSERT INTO redemption_facts (redemption_id, tenant, reward_id, store_id, day, points_spent)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::date[], $6::int[]) ON CONFLICT DO NOTHING`,
        [changes.facts.map((f) => f.redemptionId), changes.facts.map((f) => f.tenant), changes.facts.map((f) => f.rewardId),
          changes.facts.map((f) => f.storeId), changes.facts.map((f) => f.day), changes.facts.map((f) => f.points)],
      );
    }
    if (changes.cancellations.length > 0) {
      // Taken off where the redemption was counted (its day, reward and store), once.
      const [cancelled] = (await manager.query(
        `UPDATE redemption_facts SET cancelled = true WHERE redemption_id = ANY($1::uuid[]) AND NOT cancelled
         RETURNING tenant, reward_id, store_id, to_char(day, 'YYYY-MM-DD') AS day, points_spent`,
        [changes.cancellations],
      )) as [{ tenant: string; reward_id: string; store_id: string; day: string; points_spent: number }[], number];
      for (const f of cancelled) changes.redemption(f.tenant, f.day, f.reward_id, f.store_id, -1, -f.points_spent);
    }
    const daily = [...changes.daily.entries()].map(([key, values]) => {
      const [tenant, day] = key.split('|') as [string, string];
      return { tenant, day, values };
    });
    if (daily.length > 0) {
      const sets = DAILY_COLUMNS.map((c) => `${c} = daily_stats.${c} + EXCLUDED.${c}`).join(', ');
      await manager.query(
        `INSERT INTO daily_stats (tenant, day, ${DAILY_COLUMNS.join(', ')})
         SELECT * FROM unnest($1::text[], $2::date[], ${DAILY_COLUMNS.map((_, i) => `$${i + 3}::bigint[]`).join(', ')})
         ON CONFLICT (tenant, day) DO UPDATE SET ${sets}`,
        [daily.map((d) => d.tenant), daily.map((d) => d.day), ...DAILY_COLUMNS.map((c) => daily.map((d) => d.values[c]))],
      );
    }
    const memberDays = [...changes.memberDays.values()];
    if (memberDays.length > 0) {
      await manager.query(
        'INSERT INTO member_days (tenant, day, member_id) SELECT * FROM unnest($1::text[], $2::date[], $3::uuid[]) ON CONFLICT DO NOTHING',
        [memberDays.map((m) => m[0]), memberDays.map((m) => m[1]), memberDays.map((m) => m[2])],
      );
      await manager.query(
        'INSERT INTO active_members (tenant, member_id) SELECT DISTINCT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING',
        [memberDays.map((m) => m[0]), memberDays.map((m) => m[2])],
      );
    }
    const rewards = [...changes.rewards.values()];
    if (rewards.length > 0) {
      await manager.query(
        `INSERT INTO reward_days (tenant, reward_id, day, redemptions, points_spent)
         SELECT * FROM unnest($1::text[], $2::uuid[], $3::date[], $4::int[], $5::bigint[])
         ON CONFLICT (tenant, day, reward_id) DO UPDATE
           SET redemptions = reward_days.redemptions + EXCLUDED.redemptions, points_spent = reward_days.points_spent + EXCLUDED.points_spent`,
        [rewards.map((r) => r.tenant), rewards.map((r) => r.rewardId), rewards.map((r) => r.day), rewards.map((r) => r.redemptions), rewards.map((r) => r.points)],
      );
    }
    const stores = [...changes.stores.values()];
    if (stores.length > 0) {
      await manager.query(
        `INSERT INTO store_days (tenant, store_id, day, redemptions, points_spent)
         SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::int[], $5::bigint[])
         ON CONFLICT (tenant, day, store_id) DO UPDATE
           SET redemptions = store_days.redemptions + EXCLUDED.redemptions, points_spent = store_days.points_spent + EXCLUDED.points_spent`,
        [stores.map((r) => r.tenant), stores.map((r) => r.storeId), stores.map((r) => r.day), stores.map((r) => r.redemptions), stores.map((r) => r.points)],
      );
    }
    const campaigns = [...changes.campaigns.entries()];
    if (campaigns.length > 0) {
      await manager.query(
        `INSERT INTO campaign_stats (campaign_id, tenant, points_issued, activities)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::int[])
         ON CONFLICT (campaign_id) DO UPDATE
           SET points_issued = campaign_stats.points_issued + EXCLUDED.points_issued, activities = campaign_stats.activities + EXCLUDED.activities`,
        [campaigns.map((c) => c[0]), campaigns.map((c) => c[1].tenant), campaigns.map((c) => c[1].points), campaigns.map((c) => c[1].activities)],
      );
      const members = [...changes.campaignMembers].map((key) => key.split('|'));
      await manager.query('INSERT INTO campaign_members (campaign_id, member_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING', [
        members.map((m) => m[0]),
        members.map((m) => m[1]),
      ]);
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
  }
}
