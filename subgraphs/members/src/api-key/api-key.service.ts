import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { NotFoundError, type Identity, parseId } from '@loyalty/kit';
import { ApiKeyEntity } from './api-key.entity';
import type { ApiKeyInput } from './api-key.inputs';
import { toApiKey, type ApiKey, type ApiKeyCreated } from './api-key.type';

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

export interface VerifiedApiKey {
  id: string;
  tenant: string;
  scopes: string[];
}

export class ApiKeyService {
  constructor(private readonly db: DataSource) {}

  async create(identity: Identity, input: ApiKeyInput): Promise<ApiKeyCreated> {
    const secret = `lk_${randomBytes(32).toString('base64url')}`;
    const entity = await this.db.getRepository(ApiKeyEntity).save({
      tenant: identity.tenant,
      name: input.name,
      scopes: [...new Set(input.scopes)],
      keyHash: hash(secret),
      createdBy: identity.principal,
      createdAt: new Date(),
    });
    return { apiKey: toApiKey(entity), secret };
  }

  /** Revoking twice is harmless: the first revocation time stays. */
  async revoke(identity: Identity, id: string): Promise<ApiKey> {
    const keyId = parseId(id, 'id');
    const repository = this.db.getRepository(ApiKeyEntity);
    await repository
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('tenant = :tenant AND id = :keyId AND revoked_at IS NULL', { tenant: identity.tenant, keyId })
      .execute();
    const entity = await repository.findOneBy({ tenant: identity.tenant, id: keyId });
    if (!entity) throw new NotFoundError('API key');
    return toApiKey(entity);
  }

  /** For the gateway: the key's tenant and scopes, or null when unknown or revoked. */
  async verify(secret: string): Promise<VerifiedApiKey | null> {
    const entity = await this.db.getRepository(ApiKeyEntity).findOneBy({ keyHash: hash(secret) });
    if (!entity || entity.revokedAt) return null;
    return { id: entity.id, tenant: entity.tenant, scopes: entity.scopes };
  }
}
