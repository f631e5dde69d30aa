import type { Identity } from '@loyalty/kit';
import type { Loaders } from '../context';
import type { TierInput } from './tier.inputs';
import type { TierRepository } from './tier.repository';
import { toTier, type Tier } from './tier.type';

export class TierService {
  constructor(private readonly repository: TierRepository) {}

  async list(loaders: Loaders): Promise<Tier[]> {
    return (await loaders.tiers.load('all')).map(toTier);
  }

  async upsert(identity: Identity, input: TierInput): Promise<Tier> {
    return toTier(await this.repository.upsert(identity.tenant, input));
  }
}
