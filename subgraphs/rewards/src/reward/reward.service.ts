import type { DataSource } from 'typeorm';
import { BadInputError, NotFoundError, parseId, type Identity } from '@loyalty/kit';
import { RewardEntity } from './reward.entity';
import type { RewardInput } from './reward.inputs';
import { toReward, type Reward } from './reward.type';

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
    validFrom: input.validFrom ?? null,
    validUntil: input.validUntil ?? null,
    active: input.active ?? true,
  };
}

/** The catalog: marketers and admins create and edit rewards; `updateReward` replaces every field. */
export class RewardService {
  constructor(private readonly db: DataSource) {}

  async create(identity: Identity, input: RewardInput): Promise<Reward> {
    const repository = this.db.getRepository(RewardEntity);
    const saved = await repository.save(repository.create({ tenant: identity.tenant, ...columns(input) }));
    return toReward(await repository.findOneByOrFail({ id: saved.id }));
  }

  async update(identity: Identity, id: string, input: RewardInput): Promise<Reward> {
    const rewardId = parseId(id, 'id');
    const repository = this.db.getRepository(RewardEntity);
    const result = await repository.update({ tenant: identity.tenant, id: rewardId }, { ...columns(input) });
    if (!result.affected) throw new NotFoundError('Reward');
    return toReward(await repository.findOneByOrFail({ id: rewardId }));
  }
}
