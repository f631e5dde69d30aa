import type { DataSource } from 'typeorm';
import type { Identity, Logger } from '@loyalty/kit';
import type { Services } from './context';

export const DEMO_TENANT = 'demo';

const DEMO_TIERS = [
  { name: 'Bronze', rank: 0, qualifyingPoints: 0, earnMultiplier: 1 },
  { name: 'Silver', rank: 1, qualifyingPoints: 1000, earnMultiplier: 1.5 },
  { name: 'Gold', rank: 2, qualifyingPoints: 5000, earnMultiplier: 2 },
];

const DEMO_MEMBERS = [
  { email: 'ada@example.com', name: 'Ada Lovelace', country: 'GB', externalId: 'crm-1001', earned: 6200 },
  { email: 'grace@example.com', name: 'Grace Hopper', country: 'US', externalId: 'crm-1002', earned: 1800 },
  { email: 'alan@example.com', name: 'Alan Turing', country: 'GB', externalId: 'crm-1003', earned: 350 },
  { email: 'hedy@example.com', name: 'Hedy Lamarr', country: 'AT', externalId: 'crm-1004', earned: 0 },
];

/**
 * Seeds the demo tenant once (recorded in `seeds`), through the same services the API uses, so the
 * demo data obeys every ledger rule. Points arrive as EARN credits, so tiers follow.
 */
export async function seedDemo(db: DataSource, services: Services, log: Logger): Promise<void> {
  const [claimed] = await db.query<{ name: string }[]>(`INSERT INTO seeds (name) VALUES ('demo') ON CONFLICT DO NOTHING RETURNING name`);
  if (!claimed) return;
  const admin: Identity = { tenant: DEMO_TENANT, principal: 'seed', roles: ['admin'], scopes: [] };
  for (const tier of DEMO_TIERS) await services.tiers.upsert(admin, tier);
  for (const { earned, ...input } of DEMO_MEMBERS) {
    const member = await services.members.enroll(admin, input);
    if (earned > 0) {
      await services.ledger.move({
        tenant: DEMO_TENANT,
        memberId: member.id,
        points: earned,
        type: 'EARN',
        reason: 'Welcome to the demo',
        reference: 'seed',
        idempotencyKey: `seed:${member.id}`,
        scope: 'seed',
        source: 'seed',
      });
    }
  }
  log.info({ tenant: DEMO_TENANT, members: DEMO_MEMBERS.length }, 'demo tenant seeded');
}
