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
});
