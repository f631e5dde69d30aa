import type { DataSource, EntityManager } from 'typeorm';
import type { AuditLog, Identity } from '@loyalty/kit';
import type { Loaders } from '../context';
import type { PolicyOf, TierReviewService } from './tier-review.service';
import type { TierInput } from './tier.inputs';
import type { TierRepository } from './tier.repository';
import { BASE_TIER, earnedChange, effectiveTier, entryTier, qualificationFirstDay, standing, type TierUpgrade } from './tier.rule';
import { toTier, type Tier, type TierProgress } from './tier.type';

/** Tiers for the API and for the ledger: every answer is the tier rule (tier.rule.ts) applied to the tenant's tiers. */
export class TierService {
  constructor(
    private readonly db: DataSource,
    private readonly repository: TierRepository,
    private readonly policyOf: PolicyOf,
    private readonly reviews: TierReviewService,
    private readonly audit: AuditLog,
  ) {}

  async list(loaders: Loaders): Promise<Tier[]> {
    return (await loaders.tiers.load('all')).map(toTier);
  }

  /**
   * A new tier, or a rank's new name and thresholds. A new rank or a changed `qualifyingPoints`
   * reviews the tenant's members (TierReviewService.afterThresholdChange): the transaction reopens
   * the tenant's daily review, so the review happens even if this process stops right after it.
   */
  async upsert(identity: Identity, input: TierInput): Promise<Tier> {
    const { tier, thresholdChanged } = await this.db.transaction(async (manager) => {
      const saved = await this.repository.upsert(manager, identity.tenant, input);
      if (saved.thresholdChanged) await this.reviews.reopen(manager, identity.tenant);
      await this.audit.record(manager, identity, { action: 'upsertTier', targetType: 'Tier', targetId: saved.tier.id, after: toTier(saved.tier) });
      return saved;
    });
    if (thresholdChanged) await this.reviews.afterThresholdChange(identity.tenant);
    return toTier(tier);
  }

  /** EARN points of the tenant's qualification window per member (the loader's batch). */
  async qualifyingPoints(tenant: string, memberIds: readonly string[]): Promise<Map<string, number>> {
    const policy = await this.policyOf(tenant);
    return this.repository.qualifyingPoints(tenant, memberIds, qualificationFirstDay(new Date(), policy));
  }

  /** A tier by id, the built-in base included (a reference from another subgraph). */
  async byId(loaders: Loaders, id: string): Promise<Tier | null> {
    if (id === BASE_TIER.id) return toTier(BASE_TIER);
    const tier = (await loaders.tiers.load('all')).find((t) => t.id === id);
    return tier ? toTier(tier) : null;
  }

  async ofMember(loaders: Loaders, member: { tierId: string | null }): Promise<Tier> {
    return toTier(effectiveTier(member, await loaders.tiers.load('all')));
  }

  /** During a grace period `current` is the tier the member keeps, with `retainedUntil` its end. */
  async progress(loaders: Loaders, member: { id: string; tierId: string | null; tierRetainedUntil: Date | null }): Promise<TierProgress> {
    const [tiers, qualifyingPoints] = await Promise.all([loaders.tiers.load('all'), loaders.qualifying.load(member.id)]);
    const { current, next, pointsToNext } = standing(member, tiers, qualifyingPoints);
    return { current: toTier(current), next: next ? toTier(next) : null, qualifyingPoints, pointsToNext, retainedUntil: member.tierRetainedUntil };
  }

  /** The tier a new member is enrolled on (null: the tenant has no entry tier), in the enrolling transaction. */
  async entryTierId(manager: EntityManager, tenant: string): Promise<string | null> {
    return entryTier(await this.repository.list(tenant, manager))?.id ?? null;
  }

  /**
   * In the crediting transaction of an EARN (the ledger holds the member's account lock, which the
   * review takes too): books the points towards qualification and applies what they change
   * (tier.rule.ts `earnedChange`: an upgrade, or the end of a grace period). Returns an upgrade for the outbox.
   */
  async earn(manager: EntityManager, tenant: string, memberId: string, points: number): Promise<(TierUpgrade & { memberId: string }) | undefined> {
    const now = new Date();
    const policy = await this.policyOf(tenant, manager);
    const standing = await this.repository.bookEarn(manager, tenant, memberId, points, qualificationFirstDay(now, policy));
    if (!standing) return undefined;
    const change = earnedChange(policy, standing, standing.tiers, standing.qualifyingPoints, now);
    if (change.kind === 'endGrace') await this.repository.endGrace(manager, memberId);
    if (change.kind !== 'move' || !change.tierId) return undefined;
    await this.repository.record(manager, memberId, change.tierId);
    return { memberId, previousTierId: change.previousTierId, tierId: change.tierId };
  }

  /** In a return's transaction: the returned points no longer qualify (the tier review acts on it). */
  unearnOrder(manager: EntityManager, memberId: string, orderId: string, points: number): Promise<void> {
    return this.repository.unbookOrder(manager, memberId, orderId, points);
  }
}
