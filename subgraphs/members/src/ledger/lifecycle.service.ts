import { parseId, requireMemberAccess, type Identity } from '@loyalty/kit';
import { access } from '../access';
import type { Loaders } from '../context';
import type { MemberService } from '../member/member.service';
import type { TierReviewService } from '../tier/tier-review.service';
import type { ActivatePendingInput } from './ledger.inputs';
import type { LedgerService } from './ledger.service';
import type { ActivationResult, MaintenanceRun } from './lifecycle.type';

/**
 * The points lifecycle over time: pending points that activate, points that expire, reminders and
 * the tier review. A periodic job runs `maintain` for every tenant (the tier review once per tenant
 * and day, plus the members whose grace period is over); `runPointsMaintenance` runs it for one
 * tenant now, the whole tier review included. Every step is safe to run twice or in several replicas at once.
 */
export class LifecycleService {
  constructor(
    private readonly ledger: LedgerService,
    private readonly members: MemberService,
    private readonly tierReviews: TierReviewService,
  ) {}

  async maintain(tenant: string | null): Promise<MaintenanceRun> {
    const { activated, expired } = await this.ledger.settleDue(tenant);
    const remindersSent = await this.ledger.sendReminders(tenant);
    const tiersChanged = tenant ? await this.tierReviews.reviewNow(tenant) : await this.tierReviews.reviewDue();
    return { pointsExpired: expired, pointsActivated: activated, tiersChanged, remindersSent };
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
