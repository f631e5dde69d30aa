import { Field, ID, ObjectType } from 'type-graphql';
import type { ApiKeyEntity } from './api-key.entity';

@ObjectType({ description: 'A partner API key. Its secret is shown once, at creation.' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => [String])
  scopes!: string[];

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the key stops working; null: valid until revoked' })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the key was last used (to within the gateway’s key cache period, API_KEY_CACHE_SECONDS, 30 s by default); null: never' })
  lastUsedAt!: Date | null;
}

@ObjectType()
export class ApiKeyCreated {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field({ description: 'Send as the x-api-key header. Stored hashed: it cannot be shown again.' })
  secret!: string;
}

export const toApiKey = (entity: ApiKeyEntity): ApiKey => ({
  id: entity.id,
  name: entity.name,
  scopes: entity.scopes,
  createdAt: new Date(entity.createdAt),
  revokedAt: entity.revokedAt ? new Date(entity.revokedAt) : null,
  expiresAt: entity.expiresAt ? new Date(entity.expiresAt) : null,
  lastUsedAt: entity.lastUsedAt ? new Date(entity.lastUsedAt) : null,
});
