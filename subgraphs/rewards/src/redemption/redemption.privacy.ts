import type { DataSource } from 'typeorm';
import { markErased, type MemberPrivacy } from '@loyalty/kit';

/**
 * What rewards holds about a member: its redemptions. An erasure keeps each redemption's ids,
 * reward, points, status and times (stock and reports stay exact) and removes store ids, channels,
 * codes (a code becomes `erased:<id>`, which no till can type; a pool code too, in the pool, where it stays taken), cancellation reasons and the client's idempotency keys.
 */
export function rewardsPrivacy(db: DataSource): MemberPrivacy {
  return {
    async exportMember(tenant, memberId) {
      const redemptions = await db.query<Record<string, unknown>[]>(
        `SELECT r.id, r.reward_id AS "rewardId", w.name AS "rewardName", r.points_spent AS "pointsSpent", r.status, r.code,
                r.store_id AS "storeId", r.channel, r.cancel_reason AS "cancelReason", r.code_expires_at AS "codeExpiresAt",
                r.fulfilled_at AS "fulfilledAt", r.fulfilled_store_id AS "fulfilledStoreId", r.created_at AS "createdAt"
         FROM redemptions r JOIN rewards w ON w.id = r.reward_id
         WHERE r.tenant = $1 AND r.member_id = $2 ORDER BY r.created_at, r.id`,
        [tenant, memberId],
      );
      return { redemptions };
    },
    async eraseMember(manager, tenant, memberId) {
      await markErased(manager, tenant, memberId);
      await manager.query(
        `UPDATE redemptions SET store_id = NULL, channel = NULL, code = CASE WHEN code IS NULL THEN NULL ELSE 'erased:' || id END, cancel_reason = NULL, fulfilled_store_id = NULL,
                idempotency_key = 'erased:' || id
         WHERE tenant = $1 AND member_id = $2 AND idempotency_key NOT LIKE 'erased:%'`,
        [tenant, memberId],
      );
      // The pool codes the member was given: still taken (never handed out again), but no till can type them.
      await manager.query(
        `UPDATE reward_codes SET code = 'erased:' || id, code_key = 'erased:' || id
         WHERE tenant = $1 AND code_key NOT LIKE 'erased:%' AND redemption_id IN (SELECT id FROM redemptions WHERE tenant = $1 AND member_id = $2)`,
        [tenant, memberId],
      );
    },
  };
}
