import type { DataSource } from 'typeorm';
import { BadInputError, NotFoundError, parseId, timeIdPage, type AuditLog, type Identity } from '@loyalty/kit';
import { seesWholeCatalog } from './reward.availability';
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
    return this.db.transaction(async (manager) => {
      const reward = toReward(await this.repository.insert(manager, { tenant: identity.tenant, ...values }));
      await this.audit.record(manager, identity, { action: 'createReward', targetType: 'Reward', targetId: reward.id, after: reward });
      return reward;
    });
  }

  async update(identity: Identity, id: string, input: RewardInput): Promise<Reward> {
    const rewardId = parseId(id, 'id');
    const values = columns(input);
    return this.db.transaction(async (manager) => {
      const before = await this.repository.lock(manager, identity.tenant, rewardId);
      if (!before) throw new NotFoundError('Reward');
      const after = toReward((await this.repository.update(manager, identity.tenant, rewardId, values))!);
      await this.audit.record(manager, identity, { action: 'updateReward', targetType: 'Reward', targetId: rewardId, before: toReward(before), after });
      return after;
    });
  }
}
