import type { DataSource } from 'typeorm';
import type { MemberPrivacy } from '@loyalty/kit';

/**
 * What members holds about a member, for `memberDataExport`: the profile (with its referral code
 * and referrer), points, every ledger entry, the consents and their record, and the erasure if
 * there is one. Erasure itself starts here (MemberService.erase), so members has no `eraseMember`
 * of its own.
 */
export function membersPrivacy(db: DataSource): MemberPrivacy {
  return {
    async exportMember(tenant, memberId) {
      const [profile] = await db.query<Record<string, unknown>[]>(
        `SELECT m.id, m.email, m.name, m.country, m.external_id AS "externalId", m.attributes, m.status, m.tier_id AS "tierId",
                m.enrolled_at AS "enrolledAt", m.referral_code AS "referralCode", m.referred_by AS "referredBy", a.balance, a.pending, a.lifetime_earned AS "lifetimeEarned",
                jsonb_build_object('marketingEmail', m.consent_marketing_email, 'marketingSms', m.consent_marketing_sms,
                                   'marketingPush', m.consent_marketing_push, 'updatedAt', m.consents_updated_at) AS consents
         FROM members m JOIN point_accounts a ON a.member_id = m.id
         WHERE m.tenant = $1 AND m.id = $2`,
        [tenant, memberId],
      );
      if (!profile) return null;
      const [ledger, consentChanges, erasure] = await Promise.all([
        db.query<Record<string, unknown>[]>(
          `SELECT id, type, points, balance_after AS "balanceAfter", reason, reference, order_id AS "orderId", created_at AS "createdAt",
                  expires_at AS "expiresAt", pending_until AS "pendingUntil"
           FROM ledger_entries WHERE tenant = $1 AND member_id = $2 ORDER BY seq`,
          [tenant, memberId],
        ),
        db.query<Record<string, unknown>[]>(`SELECT changes, actor, at FROM consent_changes WHERE tenant = $1 AND member_id = $2 ORDER BY id`, [tenant, memberId]),
        db.query<Record<string, unknown>[]>(`SELECT requested_at AS "requestedAt", completed_at AS "completedAt", confirmations FROM member_erasures WHERE tenant = $1 AND member_id = $2`, [
          tenant,
          memberId,
        ]),
      ]);
      return { profile, ledger, consentChanges, erasure: erasure[0] ?? null };
    },
  };
}
