import type { DataSource } from 'typeorm';
import { PERSONAL_FIELDS, type MemberPrivacy } from '@loyalty/kit';

/**
 * What the reports keep about a member: the days it was active and the campaigns it earned from,
 * by id only; they hold no personal data, and totals stay exact. The webhook deliveries of the
 * member's events lose the personal fields of their payload (store ids, channels, event names),
 * delivered or not.
 */
export function analyticsPrivacy(db: DataSource): MemberPrivacy {
  return {
    async exportMember(tenant, memberId) {
      const [days, campaigns] = await Promise.all([
        db.query<{ day: string }[]>(`SELECT to_char(day, 'YYYY-MM-DD') AS day FROM member_days WHERE tenant = $1 AND member_id = $2 ORDER BY day`, [tenant, memberId]),
        db.query<{ campaignId: string }[]>(
          `SELECT m.campaign_id AS "campaignId" FROM campaign_members m JOIN campaign_stats s ON s.campaign_id = m.campaign_id
           WHERE s.tenant = $1 AND m.member_id = $2 ORDER BY 1`,
          [tenant, memberId],
        ),
      ]);
      return { activeDays: days.map((d) => d.day), campaignsEarnedFrom: campaigns.map((c) => c.campaignId) };
    },
    async eraseMember(manager, tenant, memberId) {
      await manager.query(
        `UPDATE webhook_deliveries SET body = jsonb_set(body::jsonb, '{data}', (body::jsonb -> 'data') - $3::text[])::text
         WHERE tenant = $1 AND key = $2 AND (body::jsonb -> 'data') ?| $3::text[]`,
        [tenant, memberId, PERSONAL_FIELDS],
      );
    },
  };
}
