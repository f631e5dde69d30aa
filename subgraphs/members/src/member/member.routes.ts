import type { Router } from 'express';
import { BadInputError, snapshotsBody, type MemberSnapshot } from '@loyalty/kit';
import type { Services } from '../context';
import { effectiveTier } from '../tier/tier.rule';

/**
 * For services: what they may know of members in one call (status, country, attributes, tier,
 * balance), tenant-scoped by the service credential.
 */
export function memberRoutes(router: Router, services: Services): void {
  router.post('/members/snapshots', async (req, res) => {
    const parsed = snapshotsBody.safeParse(req.body);
    if (!parsed.success) throw new BadInputError('ids', 'ids must be 1 to 500 member ids');
    const tenant = req.identity!.tenant;
    const ids = [...new Set(parsed.data.ids.map((id) => id.toLowerCase()))];
    const [members, tiers] = await Promise.all([services.memberRepository.withBalances(tenant, ids), services.tierRepository.list(tenant)]);
    const snapshots: MemberSnapshot[] = members.map(({ member, balance }) => {
      const tier = effectiveTier(member, tiers);
      return {
        id: member.id,
        status: member.status,
        country: member.country,
        attributes: member.attributes,
        tier: { id: tier.id, name: tier.name, rank: tier.rank, earnMultiplier: tier.earnMultiplier },
        balance,
      };
    });
    res.json({ members: snapshots });
  });
}
