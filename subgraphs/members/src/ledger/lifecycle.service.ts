import type { DataSource } from 'typeorm';
import { parseId, requireMemberAccess, type AuditLog, type Identity } from '@loyalty/kit';
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
    private readonly db: DataSource,
    private readonly audit: AuditLog,
  ) {}

  /** `runPointsMaintenance`: the tenant's maintenance now, and one audit entry for the run (its batches commit on their own). */
  async runNow(identity: Identity): Promise<MaintenanceRun> {
    const run = await this.maintain(identity.tenant);
    await this.db.transaction((manager) =>
      this.audit.record(manager, identity, { action: 'runPointsMaintenance', targetType: 'Program', targetId: null, after: run }),
    );
    return run;
  }

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
    const pointsActivated = await this.ledger.activatePending(identity.tenant, memberId, input.orderId ?? null, (manager, points) =>
      this.audit.record(manager, identity, { action: 'activatePendingPoints', targetType: 'Member', targetId: memberId, memberId, after: { orderId: input.orderId ?? null, pointsActivated: points } }),
    );
    loaders.account.clear(memberId);
    return { pointsActivated, member };
  }
}
