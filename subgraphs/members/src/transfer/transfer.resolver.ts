import { gate } from '@loyalty/kit';
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { access } from '../access';
import type { MembersContext } from '../context';
import { PointsTransaction, toTransaction } from '../ledger/transaction.type';
import { TransferInput } from './transfer.inputs';

@Resolver()
export class TransferResolver {
  @Authorized(gate(access['Mutation.transferPoints']))
  @Mutation(() => PointsTransaction, {
    description:
      "Moves spendable points from one member to another of the tenant, atomically and once per idempotency key: a TRANSFER debit of the sender (the answer) and a TRANSFER credit of the receiver, whose points keep their expiry dates. Counts toward no one's tier.",
  })
  async transferPoints(@Arg('input', () => TransferInput) input: TransferInput, @Ctx() { identity, services }: MembersContext): Promise<PointsTransaction> {
    return toTransaction(await services.transfers.transfer(identity, input));
  }
}
