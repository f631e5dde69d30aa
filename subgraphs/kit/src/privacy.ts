import type { Router } from 'express';
import type { DataSource, EntityManager } from 'typeorm';
import { auditQuery, countAuditEntries, readAuditEntries, redactAuditEntries } from './audit';
import { BadInputError, NotFoundError } from './errors';
import type { BusConsumer, EventBus } from './events/bus';
import { ConsumerPositions } from './events/positions';
import { EVENT_CATALOG } from './events/catalog';
import { parseId } from './ids';
import { createServiceCaller } from './ledger-client';
import type { Logger } from './logger';
import { severity } from './pg';

/**
 * What a subgraph does for data protection (GDPR): gather what it holds about a member for
 * `memberDataExport`, and erase the member's personal data when MEMBER_ERASED arrives. Every
 * subgraph serves its audit entries and its part of an export at `/internal` (`privacyRoutes`);
 * analytics puts the parts together behind one field.
 */
export interface MemberPrivacy {
  /** What this subgraph holds about the member, by section; null when it does not know the member. */
  exportMember(tenant: string, memberId: string): Promise<Record<string, unknown> | null>;
  /**
   * Removes the member's personal data from this subgraph's records, with the manager of the
   * transaction that also redacts its audit entries; running it twice changes nothing more.
   * Members has none: its `eraseMember` is where an erasure starts.
   */
  eraseMember?(manager: EntityManager, tenant: string, memberId: string): Promise<void>;
}

/** `/internal/audit` (entries matching a filter, newest first) and `/internal/members/:id/export`. */
export function privacyRoutes(router: Router, db: DataSource, service: string, privacy?: MemberPrivacy): void {
  router.get('/audit', async (req, res) => {
    const parsed = auditQuery.safeParse({ ...req.query, tenant: req.identity!.tenant });
    if (!parsed.success) throw new BadInputError('filter', 'The audit filter could not be read');
    res.json({ entries: await readAuditEntries(db, service, parsed.data) });
  });
  router.get('/audit/count', async (req, res) => {
    const parsed = auditQuery.safeParse({ ...req.query, tenant: req.identity!.tenant });
    if (!parsed.success) throw new BadInputError('filter', 'The audit filter could not be read');
    res.json({ count: await countAuditEntries(db, parsed.data) });
  });
  router.get('/members/:id/export', async (req, res) => {
    const tenant = req.identity!.tenant;
    const memberId = parseId(req.params.id, 'memberId');
    const sections = privacy ? await privacy.exportMember(tenant, memberId) : {};
    if (sections === null) {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'Member not found', field: 'memberId' } });
      return;
    }
    const audit = await readAuditEntries(db, service, auditQuery.parse({ tenant, memberId, first: 1000 }));
    res.json({ service, sections, audit });
  });
}

/**
 * For subgraphs that store records about members (campaigns, rewards): the members erased here,
 * and `member_writable`, which a transaction that stores a record for a member calls first. It
 * takes the member's erasure lock shared, so a record stored while the member is being erased
 * either commits before the erasure (which then finds and erases it) or waits for it and is refused.
 */
export const ERASED_MEMBERS_SQL = `
  CREATE TABLE erased_members (
    tenant text NOT NULL,
    member_id uuid NOT NULL,
    erased_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, member_id)
  );
  CREATE FUNCTION member_writable(p_tenant text, p_member uuid) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
  BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_tenant || ':' || p_member::text, 727275));
    RETURN NOT EXISTS (SELECT 1 FROM erased_members WHERE tenant = p_tenant AND member_id = p_member);
  END $$;`;

export const DROP_ERASED_MEMBERS_SQL = 'DROP FUNCTION member_writable(text, uuid); DROP TABLE erased_members;';

/** Refuses (NOT_FOUND, like the ledger) to store a record for an erased member; call it first in the transaction that stores it. */
export async function requireWritableMember(manager: EntityManager, tenant: string, memberId: string): Promise<void> {
  const [{ writable }] = await manager.query<[{ writable: boolean }]>('SELECT member_writable($1, $2) AS writable', [tenant, memberId]);
  if (!writable) throw new NotFoundError('Member', 'memberId', 'The member was erased');
}

/** Marks the member erased under its exclusive erasure lock: records being stored for it finish first, later ones are refused. */
export async function markErased(manager: EntityManager, tenant: string, memberId: string): Promise<void> {
  await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 727275))`, [tenant, memberId]);
  await manager.query('INSERT INTO erased_members (tenant, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [tenant, memberId]);
}

const CONSUMER = (service: string) => `erasure:${service}`;


export interface ErasureConsumerOptions {
  service: string;
  db: DataSource;
  bus: EventBus;
  privacy: Required<MemberPrivacy>;
  membersUrl: string;
  serviceSecret: string;
  log: Logger;
}

/**
 * Follows MEMBER_ERASED from this subgraph's stored position: erases the member's data and redacts
 * its audit entries in one transaction, then confirms to members. A failure anywhere is retried
 * with the same event (the bus delivers it again; erasing twice changes nothing), and the position
 * is stored only once members has the confirmation, so a crash in between erases and confirms again.
 */
export async function startErasureConsumer(options: ErasureConsumerOptions): Promise<BusConsumer> {
  const { db, bus, privacy, service, log } = options;
  const consumer = CONSUMER(service);
  const call = createServiceCaller({ url: options.membersUrl, serviceSecret: options.serviceSecret, service });
  const positions = new ConsumerPositions(db);
  // From the start of the bus: an erasure requested before this consumer first ran is still done.
  await positions.register(consumer);
  return bus.consume(
    await positions.position(consumer),
    async (events) => {
      for (const event of events) {
        const parsed = EVENT_CATALOG.MEMBER_ERASED.payload.safeParse(event.payload);
        if (!parsed.success) {
          log.error({ position: event.position }, 'MEMBER_ERASED without a member id; skipped');
          continue;
        }
        const { memberId } = parsed.data;
        await db.transaction(async (manager) => {
          await privacy.eraseMember(manager, event.tenant, memberId);
          await redactAuditEntries(manager, event.tenant, memberId);
        });
        await call(event.tenant, 'POST', `/erasures/${memberId}/confirm`, { service });
        log.info({ memberId, tenant: event.tenant }, 'member erased here and confirmed');
      }
      await positions.advance(db.manager, consumer, events.at(-1)!.position);
    },
    { types: ['MEMBER_ERASED'] },
  ).catch((error: unknown) => {
    log[severity(error)]({ err: error }, 'erasure consumer could not start');
    throw error;
  });
}
