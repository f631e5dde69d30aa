import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { BadInputError, NotFoundError, type AuditLog, type Identity, parseId } from '@loyalty/kit';
import { ApiKeyEntity } from './api-key.entity';
import type { ApiKeyInput } from './api-key.inputs';
import { toApiKey, type ApiKey, type ApiKeyCreated } from './api-key.type';

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

export interface VerifiedApiKey {
  id: string;
  tenant: string;
  scopes: string[];
  /** ISO 8601, or null when the key is valid until revoked. */
  expiresAt: string | null;
}

export class ApiKeyService {
  constructor(
    private readonly db: DataSource,
    private readonly audit: AuditLog,
  ) {}

  async create(identity: Identity, input: ApiKeyInput): Promise<ApiKeyCreated> {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new BadInputError('expiresAt', 'expiresAt must lie in the future');
    const secret = `lk_${randomBytes(32).toString('base64url')}`;
    const apiKey = await this.db.transaction(async (manager) => {
      const entity = await manager.getRepository(ApiKeyEntity).save({
        tenant: identity.tenant,
        name: input.name,
        scopes: [...new Set(input.scopes)],
        keyHash: hash(secret),
        createdBy: identity.principal,
        createdAt: new Date(),
        expiresAt: input.expiresAt ?? null,
      });
      const created = toApiKey(entity);
      await this.audit.record(manager, identity, { action: 'createApiKey', targetType: 'ApiKey', targetId: created.id, after: created });
      return created;
    });
    return { apiKey, secret };
  }

  /** Revoking twice is harmless: the first revocation time stays. */
  async revoke(identity: Identity, id: string): Promise<ApiKey> {
    const keyId = parseId(id, 'id');
    const entity = await this.db.transaction(async (manager) => {
      const repository = manager.getRepository(ApiKeyEntity);
      const { affected } = await repository
        .createQueryBuilder()
        .update()
        .set({ revokedAt: () => 'now()' })
        .where('tenant = :tenant AND id = :keyId AND revoked_at IS NULL', { tenant: identity.tenant, keyId })
        .execute();
      const revoked = await repository.findOneBy({ tenant: identity.tenant, id: keyId });
      if (revoked && affected) {
        await this.audit.record(manager, identity, { action: 'revokeApiKey', targetType: 'ApiKey', targetId: keyId, before: { revokedAt: null }, after: { revokedAt: revoked.revokedAt } });
      }
      return revoked;
    });
    if (!entity) throw new NotFoundError('API key');
    return toApiKey(entity);
  }

  /** The tenant's keys, newest first, revoked and expired ones included (their times say so). */
  async list(identity: Identity): Promise<ApiKey[]> {
    const entities = await this.db.getRepository(ApiKeyEntity).find({ where: { tenant: identity.tenant }, order: { createdAt: 'DESC', id: 'ASC' } });
    return entities.map(toApiKey);
  }

  /**
   * For the gateway: the key's tenant, scopes and end of validity, or null when unknown, revoked or
   * expired. A key found is marked used now, in the same statement.
   */
  async verify(secret: string): Promise<VerifiedApiKey | null> {
    const [rows] = await this.db.query<[{ id: string; tenant: string; scopes: string[]; expires_at: Date | null }[], number]>(
      `UPDATE api_keys SET last_used_at = now()
       WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
       RETURNING id, tenant, scopes, expires_at`,
      [hash(secret)],
    );
    const key = rows[0];
    if (!key) return null;
    return { id: key.id, tenant: key.tenant, scopes: key.scopes, expiresAt: key.expires_at ? new Date(key.expires_at).toISOString() : null };
  }
}
