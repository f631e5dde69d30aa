import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { access } from '../access';
import type { CampaignsContext } from '../context';
import { ReturnInput } from './return.inputs';
import { ReturnResult } from './return.type';

@Resolver(() => ReturnResult)
export class ReturnResolver {
  @Authorized(access['Mutation.recordReturn'])
  @Mutation(() => ReturnResult, { description: "A return of (part of) an order: takes back the order's points in proportion to the amount returned" })
  async recordReturn(@Arg('input', () => ReturnInput) input: ReturnInput, @Ctx() { identity, services }: CampaignsContext): Promise<ReturnResult> {
    const outcome = await services.returns.record(identity, input);
    return {
      pointsReversed: outcome.pointsReversed,
      pointsUnrecovered: outcome.pointsUnrecovered,
      transaction: outcome.transactionId ? { id: outcome.transactionId } : null,
      member: { id: outcome.memberId },
    };
  }
}
