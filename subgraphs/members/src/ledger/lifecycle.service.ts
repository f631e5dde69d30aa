import { parseId, requireMemberAccess, type Identity } from '@loyalty/kit';
import { access } from '../access';
import type { Loaders } from '../context';
import type { MemberService } from '../member/member.service';
import type { ActivatePendingInput } from './ledger.inputs';
import type { LedgerService } from './ledger.service';
import type { ActivationResult, MaintenanceRun } from './lifecycle.type';

/**
 * The points lifecycle over time: pending points that activate, points that expire, reminders and
 * the tier review. A periodic job runs `maintain` for every tenant; `runPointsMaintenance` runs it
 * for one tenant now. Every step is safe to run twice or in several replicas at once.
 */
export class LifecycleService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly members: MemberService,
  ) {}

  async maintain(tenant: string | null): Promise<MaintenanceRun> {
    const { activated, expired } = await this.ledger.settleDue(tenant);
    const remindersSent = await this.ledger.sendReminders(tenant);
    return { pointsExpired: expired, pointsActivated: activated, tiersChanged: 0, remindersSent };
  }

  async activate(identity: Identity, loaders: Loaders, input: ActivatePendingInput): Promise<ActivationResult> {
    const memberId = parseId(input.memberId, 'memberId');
    requireMemberAccess(identity, memberId, access['Mutation.activatePendingPoints']);
    const member = await this.members.getOrFail(identity, loaders, memberId, 'memberId');
    const pointsActivated = await this.ledger.activatePending(identity.tenant, memberId, input.orderId ?? null);
    loaders.account.clear(memberId);
    return { pointsActivated, member };
  }
}
