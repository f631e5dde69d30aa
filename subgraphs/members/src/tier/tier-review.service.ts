import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource, EntityManager } from 'typeorm';
import { appendOutbox, restAfterBatch, type Logger, type OutgoingEvent } from '@loyalty/kit';
import { dayIn } from '../program/calendar';
import type { ProgramPolicy } from '../program/program.policy';
import type { ReviewRow, ReviewScope, ReviewWrite, TierReviewRepository } from './tier-review.repository';
import type { TierRepository } from './tier.repository';
import { BASE_TIER, qualificationFirstDay, reviewTier, type TierLevel } from './tier.rule';

export type PolicyOf = (tenant: string, manager?: EntityManager) => Promise<ProgramPolicy>;

export interface TierReviewOptions {
  /** Members per transaction. */
  batch?: number;
  /** How long a threshold change waits for its review before answering (the rest goes on in the background). */
  inlineMs?: number;
  /** Rounds that retry members a move held during a pass (each after a short pause). */
  retries?: number;
  /**
   * After each batch the pass pauses this fraction of the batch's own time, so earning keeps most of
   * the database and CPU while a large tenant is reviewed (0: no pause).
   */
  pause?: number;
}

interface Pass {
  tenant: string;
  policy: ProgramPolicy;
  tiers: TierLevel[];
  firstDay: string;
  now: Date;
  scope: ReviewScope;
}

/**
 * The tier review (tier.rule.ts `reviewTier`) applied to a tenant's members: daily (claimed once
 * per tenant and day in the program's zone, whichever replica runs the maintenance), after a
 * tier's threshold changes, and on `runPointsMaintenance`; the maintenance also reviews, every run,
 * the members whose grace period is over.
 *
 * A pass walks the members by id, `batch` per short transaction: it locks what it can (SKIP LOCKED:
 * a member being credited is retried at the end of the pass, or left to the next review), reads
 * their standing and window points again under the lock in one statement, and writes only the
 * members whose standing changes, with a TIER_CHANGED event per tier change in the same
 * transaction. Passes may run at once on any number of replicas: a member is changed under its
 * lock from what it is then, so a second pass finds nothing left to do, and ONE_LEVEL's "one rank a
 * day" keeps two reviews of one day from taking a member down twice.
 */
export class TierReviewService {
  private readonly batch: number;
  private readonly inlineMs: number;
  private readonly retries: number;
  private readonly pause: number;

  constructor(
    private readonly db: DataSource,
    private readonly repository: TierReviewRepository,
    private readonly tiers: TierRepository,
    private readonly policyOf: PolicyOf,
    private readonly log: Logger,
    options: TierReviewOptions = {},
  ) {
    this.batch = options.batch ?? 1000;
    this.inlineMs = options.inlineMs ?? 2000;
    this.retries = options.retries ?? 3;
    this.pause = options.pause ?? 1;
  }

  /** `runPointsMaintenance`: the tenant's review now (it counts as today's daily review). Returns the members whose tier changed. */
  async reviewNow(tenant: string): Promise<number> {
    const pass = await this.prepare(tenant, 'all');
    const changed = await this.run(pass);
    await this.repository.claimDay(this.db.manager, tenant, dayIn(pass.now, pass.policy.timeZone));
    return changed;
  }

  /**
   * The periodic job: every tenant's daily review, if no replica has claimed today's yet, else the
   * members whose grace period is over. Returns the members whose tier changed.
   */
  async reviewDue(): Promise<number> {
    let changed = 0;
    for (const tenant of await this.repository.tenants(this.db.manager)) changed += await this.daily(tenant);
    return changed;
  }

  /**
   * After a threshold change committed (its transaction reopened the tenant's daily review): the
   * review, awaited up to `inlineMs` so a small tenant answers with its tiers reviewed; a large one
   * goes on in the background, and if this process stops first, the next maintenance run of any
   * replica claims the reopened day and reviews it.
   */
  async afterThresholdChange(tenant: string): Promise<void> {
    const review = this.daily(tenant).catch((error: unknown) => {
      this.log.error({ err: error, tenant }, 'tier review after a threshold change failed; the next maintenance run reviews the tenant');
    });
    await Promise.race([review, sleep(this.inlineMs)]);
  }

  /** The reopening of a tenant's daily review, in the transaction that changes a threshold. */
  reopen(manager: EntityManager, tenant: string): Promise<void> {
    return this.repository.reopen(manager, tenant);
  }

  private async daily(tenant: string): Promise<number> {
    const all = await this.prepare(tenant, 'all');
    const day = dayIn(all.now, all.policy.timeZone);
    if (!(await this.repository.claimDay(this.db.manager, tenant, day))) return this.run({ ...all, scope: 'graceOver' });
    try {
      return await this.run(all);
    } catch (error) {
      await this.repository.releaseDay(this.db.manager, tenant, day).catch(() => undefined);
      throw error;
    }
  }

  private async prepare(tenant: string, scope: ReviewScope): Promise<Pass> {
    const now = new Date();
    const [policy, tiers] = await Promise.all([this.policyOf(tenant), this.tiers.list(tenant)]);
    return { tenant, policy, tiers, firstDay: qualificationFirstDay(now, policy), now, scope };
  }

  /** One pass over the scope's members; members a move held are retried a few times at the end. */
  private async run(pass: Pass): Promise<number> {
    if (pass.tiers.length === 0) return 0;
    let changed = 0;
    let held: string[] = [];
    for (let after: string | null = null; ; ) {
      const ids = await this.repository.page(this.db.manager, pass.tenant, pass.scope, after, this.batch);
      if (ids.length === 0) break;
      after = ids.at(-1)!;
      const started = performance.now();
      const result = await this.reviewBatch(pass, ids);
      changed += result.changed;
      held = held.concat(result.held);
      if (ids.length === this.batch) await restAfterBatch(started, this.pause);
    }
    for (let round = 1; held.length > 0 && round <= this.retries; round++) {
      await sleep(20 * round);
      const result = await this.reviewBatch(pass, held);
      changed += result.changed;
      held = result.held;
    }
    if (held.length > 0) this.log.info({ tenant: pass.tenant, members: held.length }, 'tier review: members busy moving points are left to the next review');
    return changed;
  }

  private reviewBatch(pass: Pass, ids: readonly string[]): Promise<{ changed: number; held: string[] }> {
    return this.db.transaction(async (manager) => {
      const locked = await this.repository.lock(manager, pass.tenant, ids);
      const lockedSet = new Set(locked);
      const held = ids.filter((id) => !lockedSet.has(id));
      if (locked.length === 0) return { changed: 0, held };
      const rows = await this.repository.standings(manager, locked, pass.firstDay);
      const writes: ReviewWrite[] = [];
      const events: OutgoingEvent[] = [];
      for (const row of rows) {
        // Under the lock, a member whose grace was ended meanwhile (it earned its tier back) is not this pass's.
        if (pass.scope === 'graceOver' && !(row.retainedUntil && row.retainedUntil.getTime() <= pass.now.getTime())) continue;
        const change = decide(pass, row);
        if (!change) continue;
        writes.push(change.write);
        if (change.event) events.push(change.event);
      }
      await this.repository.write(manager, writes);
      await appendOutbox(manager, events);
      return { changed: events.length, held };
    });
  }
}

/** What a review of `row` writes, and its event when the tier changes; undefined when nothing does. */
function decide(pass: Pass, row: ReviewRow): { write: ReviewWrite; event?: OutgoingEvent } | undefined {
  const review = reviewTier(pass.policy, row, pass.tiers, row.qualifyingPoints, pass.now);
  const base = { id: row.id, tierId: row.tierId, retainedUntil: row.retainedUntil, downgradedAt: row.downgradedAt };
  switch (review.kind) {
    case 'keep':
      return undefined;
    case 'startGrace':
      return { write: { ...base, retainedUntil: review.retainedUntil } };
    case 'endGrace':
      return { write: { ...base, retainedUntil: null } };
    case 'move':
      return {
        write: { ...base, tierId: review.tierId, retainedUntil: null, downgradedAt: review.direction === 'DOWN' ? pass.now : row.downgradedAt },
        event: {
          type: 'TIER_CHANGED',
          tenant: pass.tenant,
          key: row.id,
          payload: { memberId: row.id, previousTierId: review.previousTierId, tierId: review.tierId ?? BASE_TIER.id },
        },
      };
  }
}
