import { BadInputError, parseId, requireMemberAccess, type AuditLog, type Identity } from '@loyalty/kit';
import { access } from '../access';
import type { LedgerEntryEntity } from '../ledger/ledger.entity';
import type { LedgerService } from '../ledger/ledger.service';
import type { PolicyOf } from '../tier/tier-review.service';
import type { TransferInput } from './transfer.inputs';
import type { TransferRepository } from './transfer.repository';
import { limitRefusal, partyRefusal, transferDayStart } from './transfer.rule';

/**
 * `transferPoints`: who may send, to whom and how much (transfer.rule.ts), checked under the
 * ledger's locks of both accounts; the move itself is LedgerService.transfer. The answer is the
 * sender's TRANSFER debit; the receiver's credit has the same idempotency key and the sender's id
 * as its reference (the debit has the receiver's).
 */
export class TransferService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly repository: TransferRepository,
    private readonly policyOf: PolicyOf,
    private readonly audit: AuditLog,
  ) {}

  async transfer(identity: Identity, input: TransferInput): Promise<LedgerEntryEntity> {
    const fromMemberId = parseId(input.fromMemberId, 'fromMemberId');
    const toMemberId = parseId(input.toMemberId, 'toMemberId');
    requireMemberAccess(identity, fromMemberId, access['Mutation.transferPoints']);
    if (fromMemberId === toMemberId) throw new BadInputError('toMemberId', 'A member cannot transfer points to itself');
    const { tenant } = identity;
    const { entry } = await this.ledger.transfer({
      tenant,
      fromMemberId,
      toMemberId,
      points: input.points,
      idempotencyKey: input.idempotencyKey,
      scope: 'api',
      source: `api:${identity.principal}`,
      allowed: async (manager) => {
        const statuses = await this.repository.statuses(manager, tenant, [fromMemberId, toMemberId]);
        const party = partyRefusal(statuses.get(fromMemberId), 'fromMemberId') ?? partyRefusal(statuses.get(toMemberId), 'toMemberId');
        if (party) throw party;
        const policy = await this.policyOf(tenant, manager);
        const sent = await this.repository.sentSince(manager, tenant, fromMemberId, transferDayStart(new Date(), policy.timeZone));
        const limit = limitRefusal(policy.transfers, sent, input.points);
        if (limit) throw limit;
      },
      written: (manager, { debit, credit }) =>
        this.audit.record(manager, identity, {
          action: 'transferPoints',
          targetType: 'Member',
          targetId: fromMemberId,
          memberId: fromMemberId,
          after: { transactionId: debit.id, creditId: credit.id, toMemberId, points: input.points, balanceAfter: debit.balanceAfter },
        }),
    });
    return entry;
  }
}
