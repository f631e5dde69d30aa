import type { EntityManager } from 'typeorm';
import type { Identity } from '@loyalty/kit';
import type { Loaders } from '../context';
import type { TierInput } from './tier.inputs';
import type { TierRepository } from './tier.repository';
import { BASE_TIER, effectiveTier, entryTier, standing, upgrade, type TierUpgrade } from './tier.rule';
import { toTier, type Tier, type TierProgress } from './tier.type';

/** Tiers for the API and for the ledger: every answer is the tier rule (tier.rule.ts) applied to the tenant's tiers. */
export class TierService {
  constructor(private readonly repository: TierRepository) {}

  async list(loaders: Loaders): Promise<Tier[]> {
    return (await loaders.tiers.load('all')).map(toTier);
  }

  async upsert(identity: Identity, input: TierInput): Promise<Tier> {
    return toTier(await this.repository.upsert(identity.tenant, input));
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

  async progress(loaders: Loaders, member: { id: string; tierId: string | null }): Promise<TierProgress> {
    const [tiers, qualifyingPoints] = await Promise.all([loaders.tiers.load('all'), loaders.qualifying.load(member.id)]);
    const { current, next, pointsToNext } = standing(member, tiers, qualifyingPoints);
    return { current: toTier(current), next: next ? toTier(next) : null, qualifyingPoints, pointsToNext };
  }

  /** The tier a new member is enrolled on (null: the tenant has no entry tier), in the enrolling transaction. */
  async entryTierId(manager: EntityManager, tenant: string): Promise<string | null> {
    return entryTier(await this.repository.list(tenant, manager))?.id ?? null;
  }

  /**
   * In the crediting transaction of an EARN: books the points towards qualification and records
   * the upgrade they earn. Returns the change for the outbox.
   */
  async earn(manager: EntityManager, tenant: string, memberId: string, points: number): Promise<(TierUpgrade & { memberId: string }) | undefined> {
    const standing = await this.repository.bookEarn(manager, tenant, memberId, points);
    const change = standing && upgrade(standing, standing.tiers, standing.qualifyingPoints);
    if (!change) return undefined;
    await this.repository.record(manager, memberId, change.tierId);
    return { memberId, ...change };
  }

  /** In a return's transaction: the returned points no longer qualify (the tier review acts on it). */
  unearnOrder(manager: EntityManager, memberId: string, orderId: string, points: number): Promise<void> {
    return this.repository.unbookOrder(manager, memberId, orderId, points);
  }
}
