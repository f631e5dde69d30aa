import { Arg, Authorized, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { access } from '../access';
import type { MembersContext } from '../context';
import { ApiKeyInput } from './api-key.inputs';
import { ApiKey, ApiKeyCreated } from './api-key.type';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
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
