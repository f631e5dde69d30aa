import type { DataSource } from 'typeorm';
import { BadInputError, NotFoundError, parseId, requireSegments, timeIdPage, uniqueViolation, type AuditLog, type Identity, type LedgerClient } from '@loyalty/kit';
import { seesWholeCatalog } from './reward.availability';
import { normalizeCode } from '../redemption/redemption.code';
import { checkPoolCodes } from './reward.codes';
import type { RewardEntity } from './reward.entity';
import type { RewardInput } from './reward.inputs';
import type { RewardRepository } from './reward.repository';
import { RewardConnection, toReward, type Reward, type RewardFilter } from './reward.type';

function columns(input: RewardInput): Partial<RewardEntity> {
  if (input.validFrom && input.validUntil && input.validUntil <= input.validFrom) {
    throw new BadInputError('validUntil', 'validUntil must be after validFrom');
  }
  return {
    name: input.name,
    description: input.description ?? null,
    type: input.type,
    costPoints: input.costPoints,
    stock: input.stock ?? null,
    minTierRank: input.minTierRank ?? null,
    limitPerMember: input.limitPerMember ?? null,
    segmentIds: input.segmentIds?.length ? [...new Set(input.segmentIds.map((id) => id.toLowerCase()))] : null,
    codeValidDays: input.codeValidDays ?? null,
    validFrom: input.validFrom ?? null,
    validUntil: input.validUntil ?? null,
    active: input.active ?? true,
  };
}

/** The catalog: marketers and admins create and edit rewards; `updateReward` replaces every field. */
export class RewardService {
  constructor(
    private readonly db: DataSource,
    private readonly repository: RewardRepository,
    private readonly audit: AuditLog,
    private readonly ledger: LedgerClient,
  ) {}

  /** The catalog as `identity` may see it: a member or a catalog key gets what `activeOnly: true` lists, whatever it asks for. */
  async list(identity: Identity, filter: RewardFilter | null, first: number, after: string | null): Promise<RewardConnection> {
    const criteria = seesWholeCatalog(identity) ? (filter ?? {}) : { ...filter, activeOnly: true };
    const page = await timeIdPage(first, after, {
      read: (size, cursor) => this.repository.list(identity.tenant, criteria, size, cursor),
      toNode: toReward,
      keyOf: (reward) => [reward.createdAt, reward.id],
      count: () => this.repository.count(identity.tenant, criteria),
    });
    return RewardConnection.from(page);
  }

  async create(identity: Identity, input: RewardInput): Promise<Reward> {
    const values = columns(input);
    await requireSegments(this.ledger, identity.tenant, input.segmentIds, 'segmentIds');
    return this.db.transaction(async (manager) => {
      const reward = toReward(await this.repository.insert(manager, { tenant: identity.tenant, ...values }));
      await this.audit.record(manager, identity, { action: 'createReward', targetType: 'Reward', targetId: reward.id, after: reward });
      return reward;
    });
  }

  async update(identity: Identity, id: string, input: RewardInput): Promise<Reward> {
    const rewardId = parseId(id, 'id');
    const values = columns(input);
    await requireSegments(this.ledger, identity.tenant, input.segmentIds, 'segmentIds');
    return this.db.transaction(async (manager) => {
      const before = await this.repository.lock(manager, identity.tenant, rewardId);
      if (!before) throw new NotFoundError('Reward');
      const after = toReward((await this.repository.update(manager, identity.tenant, rewardId, values))!);
      await this.audit.record(manager, identity, { action: 'updateReward', targetType: 'Reward', targetId: rewardId, before: toReward(before), after });
      return after;
    });
  }

  /**
   * Imports codes into the reward's pool, all or none: a code repeated in the list, or already in
   * one of the tenant's pools (or given out as a redemption's code), refuses the whole import naming
   * `codes.<index>`. The audit entry has the count, never the codes.
   */
  async addCodes(identity: Identity, id: string, input: readonly string[]): Promise<Reward> {
    const rewardId = parseId(id, 'rewardId');
    const codes = checkPoolCodes(input);
    const { tenant } = identity;
    return this.db.transaction(async (manager) => {
      // Imports into one reward are serialised; the unique index settles races across rewards.
      const before = await this.repository.lock(manager, tenant, rewardId);
      if (!before) throw new NotFoundError('Reward', 'rewardId');
      const known = await this.repository.knownCodeKeys(manager, tenant, codes.map((c) => c.key));
      // A code a till would read as a generated one must not be one given out already.
      const generated = codes.map((c) => normalizeCode(c.code));
      const issued = await this.repository.issuedCodes(manager, tenant, generated.filter((g): g is string => g !== null));
      const clash = codes.findIndex((c, i) => known.has(c.key) || issued.has(generated[i] ?? ''));
      if (clash >= 0) throw new BadInputError(`codes.${clash}`, 'This code was imported already');
      try {
        await this.repository.addCodes(manager, tenant, rewardId, codes);
      } catch (error) {
        if (uniqueViolation(error) === 'reward_codes_tenant_key') throw new BadInputError('codes', 'A code was imported at the same time by another call');
        throw error;
      }
      const after = toReward((await this.repository.lock(manager, tenant, rewardId))!);
      await this.audit.record(manager, identity, {
        action: 'addRewardCodes',
        targetType: 'Reward',
        targetId: rewardId,
        after: { codesAdded: codes.length },
      });
      return after;
    });
  }
}
