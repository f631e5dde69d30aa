import { parseId } from '@loyalty/kit';
import { Arg, Authorized, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { access } from '../access';
import type { MembersContext } from '../context';
import { ActivatePendingInput, AdjustPointsInput } from './ledger.inputs';
import { ActivationResult, MaintenanceRun, PointsLiability } from './lifecycle.type';
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
      expiresAt: input.expiresAt ?? null,
      scope: 'api',
      source: `api:${identity.principal}`,
      written: (manager, written) =>
        services.audit.record(manager, identity, {
          action: 'adjustPoints',
          targetType: 'Member',
          targetId: written.memberId,
          memberId: written.memberId,
          after: { transactionId: written.id, points: written.points, balanceAfter: written.balanceAfter, reason: written.reason },
        }),
    });
    return toTransaction(entry);
  }

  @Authorized(access['Mutation.activatePendingPoints'])
  @Mutation(() => ActivationResult, { description: "makes a member's pending points spendable now: one order's, or all of them" })
  activatePendingPoints(
    @Arg('input', () => ActivatePendingInput) input: ActivatePendingInput,
    @Ctx() { identity, services, loaders }: MembersContext,
  ): Promise<ActivationResult> {
    return services.lifecycle.activate(identity, loaders, input);
  }

  @Authorized(access['Query.pointsLiability'])
  @Query(() => PointsLiability, { description: "what the program owes its members now: spendable and pending points, and what expires soon" })
  pointsLiability(
    @Arg('expiringWithinDays', () => [Int], { defaultValue: [30, 60, 90], description: 'day counts from now, 1 to 3650, at most 10' }) expiringWithinDays: number[],
    @Ctx() { identity, services }: MembersContext,
  ): Promise<PointsLiability> {
    return services.ledger.liability(identity.tenant, expiringWithinDays);
  }

  @Authorized(access['Mutation.runPointsMaintenance'])
  @Mutation(() => MaintenanceRun, { description: "runs the tenant's points maintenance now: expiry, activation of pending points, reminders, tier review" })
  runPointsMaintenance(@Ctx() { identity, services }: MembersContext): Promise<MaintenanceRun> {
    return services.lifecycle.runNow(identity);
  }
}
