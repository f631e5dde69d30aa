import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { access } from '../access';
import type { MembersContext } from '../context';
import { ApiKeyInput } from './api-key.inputs';
import { ApiKey, ApiKeyCreated } from './api-key.type';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Authorized(access['Query.apiKeys'])
  @Query(() => [ApiKey], { description: 'The tenant’s API keys, newest first, revoked and expired ones included' })
  apiKeys(@Ctx() { identity, services }: MembersContext): Promise<ApiKey[]> {
    return services.apiKeys.list(identity);
  }

  @Authorized(access['Mutation.createApiKey'])
  @Mutation(() => ApiKeyCreated, { description: 'The secret is returned only here' })
  createApiKey(@Arg('input', () => ApiKeyInput) input: ApiKeyInput, @Ctx() { identity, services }: MembersContext): Promise<ApiKeyCreated> {
    return services.apiKeys.create(identity, input);
  }

  @Authorized(access['Mutation.revokeApiKey'])
  @Mutation(() => ApiKey)
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: MembersContext): Promise<ApiKey> {
    return services.apiKeys.revoke(identity, id);
  }
}
