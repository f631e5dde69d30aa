import { parseId } from '@loyalty/kit';
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { access } from '../access';
import type { MembersContext } from '../context';
import { AdjustPointsInput } from './ledger.inputs';
import { PointsTransaction, toTransaction } from './transaction.type';

@Resolver(() => PointsTransaction)
export class LedgerResolver {
  /** A person's manual credit (+) or debit (-), with the reason kept on the ledger entry. */
  @Authorized(access['Mutation.adjustPoints'])
  @Mutation(() => PointsTransaction, { description: 'manual credit (+) or debit (-)' })
  async adjustPoints(@Arg('input', () => AdjustPointsInput) input: AdjustPointsInput, @Ctx() { identity, services }: MembersContext): Promise<PointsTransaction> {
    const { entry } = await services.ledger.move({
      tenant: identity.tenant,
      memberId: parseId(input.memberId, 'memberId'),
      points: input.points,
      type: 'ADJUST',
      reason: input.reason,
      idempotencyKey: input.idempotencyKey,
      scope: 'api',
      source: `api:${identity.principal}`,
    });
    return toTransaction(entry);
  }
}
