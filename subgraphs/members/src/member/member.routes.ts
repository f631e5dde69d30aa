import type { Router } from 'express';
import { BadInputError, UUID, parseId, snapshotsBody, type MemberSnapshot } from '@loyalty/kit';
import type { Services } from '../context';
import { effectiveTier } from '../tier/tier.rule';

/**
 * For services: what they may know of members in one call (status, country, attributes, tier,
 * balance, the segments they are in now), tenant-scoped by the service credential.
 */
export function memberRoutes(router: Router, services: Services): void {
  router.post('/members/snapshots', async (req, res) => {
    const parsed = snapshotsBody.safeParse(req.body);
    if (!parsed.success) throw new BadInputError('ids', 'ids must be 1 to 500 member ids');
    const tenant = req.identity!.tenant;
    const ids = [...new Set(parsed.data.ids.map((id) => id.toLowerCase()))];
    const [members, tiers, segments] = await Promise.all([
      services.memberRepository.withBalances(tenant, ids),
      services.tierRepository.list(tenant),
      services.segments.segmentsOf(tenant, ids),
    ]);
    const snapshots: MemberSnapshot[] = members.map(({ member, balance }) => {
      const tier = effectiveTier(member, tiers);
      return {
        id: member.id,
        status: member.status,
        country: member.country,
        attributes: member.attributes,
        tier: { id: tier.id, name: tier.name, rank: tier.rank, earnMultiplier: tier.earnMultiplier },
        balance,
        referredBy: member.referredBy,
        segmentIds: (segments.get(member.id) ?? []).map((segment) => segment.id),
      };
    });
    res.json({ members: snapshots });
  });

  /** A subgraph confirms it erased what it held of a member (docs/integrations.md, GDPR). */
  router.post('/erasures/:memberId/confirm', async (req, res) => {
    const service = (req.body as { service?: unknown }).service;
    if (typeof service !== 'string') throw new BadInputError('service', 'service is required');
    await services.members.confirmErasure(req.identity!.tenant, parseId(req.params.memberId, 'memberId'), service);
    res.json({ confirmed: true });
  });

  /** For the gateway: whether a member token still speaks for someone who may sign in (not erased). */
  router.post('/members/sign-in', async (req, res) => {
    const { tenant, memberId } = req.body as { tenant?: unknown; memberId?: unknown };
    if (typeof tenant !== 'string' || typeof memberId !== 'string') throw new BadInputError('memberId', 'tenant and memberId are required');
    // A token naming no member of the tenant is refused by every member check later; only erasure is decided here.
    const [member] = UUID.test(memberId) ? await services.memberRepository.findByIds(tenant, [memberId]) : [null];
    res.json({ allowed: member?.status !== 'ERASED' });
  });
}
