import type { DataSource } from 'typeorm';
import { markErased, type MemberPrivacy } from '@loyalty/kit';

/**
 * What campaigns holds about a member: its activities (with the points each campaign rule
 * awarded) and returns. An erasure keeps each record's ids, type, amounts, points and times (budgets,
 * caps and campaign performance stay exact) and removes order and store ids, channels and the
 * client's idempotency keys (which may carry order numbers).
 */
export function campaignsPrivacy(db: DataSource): MemberPrivacy {
  return {
    async exportMember(tenant, memberId) {
      const [activities, returns] = await Promise.all([
        db.query<Record<string, unknown>[]>(
          `SELECT a.id, a.type, a.amount, a.currency, a.order_id AS "orderId", a.store_id AS "storeId", a.channel, a.event_name AS "eventName",
                  a.occurred_at AS "occurredAt", a.points_earned AS "pointsEarned", a.credit_status AS "creditStatus", a.created_at AS "createdAt",
                  COALESCE((SELECT jsonb_agg(jsonb_build_object('campaignId', w.campaign_id, 'ruleId', w.rule_id, 'points', w.points))
                            FROM activity_awards w WHERE w.activity_id = a.id), '[]') AS awards
           FROM activities a WHERE a.tenant = $1 AND a.member_id = $2 ORDER BY a.created_at, a.id`,
          [tenant, memberId],
        ),
        db.query<Record<string, unknown>[]>(
          `SELECT id, activity_id AS "activityId", order_id AS "orderId", amount, points, status, points_reversed AS "pointsReversed",
                  points_unrecovered AS "pointsUnrecovered", created_at AS "createdAt"
           FROM returns WHERE tenant = $1 AND member_id = $2 ORDER BY created_at, id`,
          [tenant, memberId],
        ),
      ]);
      return { activities, returns };
    },
    async eraseMember(manager, tenant, memberId) {
      await markErased(manager, tenant, memberId);
      await manager.query(
        `UPDATE activities SET order_id = NULL, credit_order_id = NULL, store_id = NULL, channel = NULL, idempotency_key = 'erased:' || id
         WHERE tenant = $1 AND member_id = $2 AND idempotency_key NOT LIKE 'erased:%'`,
        [tenant, memberId],
      );
      await manager.query(
        `UPDATE returns SET order_id = 'erased', idempotency_key = 'erased:' || id
         WHERE tenant = $1 AND member_id = $2 AND idempotency_key NOT LIKE 'erased:%'`,
        [tenant, memberId],
      );
    },
  };
}
