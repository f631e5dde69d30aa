import type { Router } from 'express';
import { BadInputError, snapshotsBody } from '@loyalty/kit';
import type { Services } from '../context';

/** For services: which of the segment ids they were given exist in the tenant (campaigns and rewards refuse the others). */
export function segmentRoutes(router: Router, services: Services): void {
  router.post('/segments/known', async (req, res) => {
    const parsed = snapshotsBody.safeParse(req.body);
    if (!parsed.success) throw new BadInputError('ids', 'ids must be 1 to 500 segment ids');
    const ids = [...new Set(parsed.data.ids.map((id) => id.toLowerCase()))];
    res.json({ known: await services.segments.known(req.identity!.tenant, ids) });
  });
}
