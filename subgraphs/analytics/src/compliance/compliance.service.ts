import type { DataSource } from 'typeorm';
import {
  BadInputError,
  LedgerUnavailableError,
  NotFoundError,
  ServiceUnavailableError,
  auditEntry,
  auditQuery,
  compareAuditEntries,
  countAuditEntries,
  createServiceCaller,
  decodeTimeIdCursor,
  encodeTimeIdCursor,
  pageSize,
  parseId,
  readAuditEntries,
  requireMemberAccess,
  type AuditEntryRecord,
  type AuditQuery,
  type Identity,
  type MemberPrivacy,
} from '@loyalty/kit';
import { z } from 'zod';
import { access } from '../access';
import { AuditEntryConnection, type AuditEntry, type AuditFilter } from './compliance.type';

type Caller = ReturnType<typeof createServiceCaller>;
/** The subgraphs that keep audit entries besides this one, with their internal API. */
export type Peers = Record<'members' | 'campaigns' | 'rewards', Caller>;

const entriesReply = z.object({ entries: z.array(auditEntry) });
const countReply = z.object({ count: z.number().int() });
const exportReply = z.object({ service: z.string(), sections: z.record(z.string(), z.unknown()), audit: z.array(auditEntry) });

/** A peer that cannot answer: the whole answer would be partial, so none is given (retry later). */
const unavailable = (error: unknown): never => {
  if (error instanceof LedgerUnavailableError) throw new ServiceUnavailableError('Not every subgraph can be read right now; retry later');
  throw error;
};

const toQueryString = (query: Partial<AuditQuery>) =>
  new URLSearchParams(Object.entries(query).flatMap(([k, v]): [string, string][] => (v === undefined || k === "tenant" ? [] : [[k, String(v)]]))).toString();

const toNode = (entry: AuditEntryRecord): AuditEntry => ({ ...entry, at: new Date(entry.at) });

/**
 * The compliance reads that span every subgraph, answered here: `auditLog` merges each
 * subgraph's entries (newest first, by (at, id)); `memberDataExport` puts each one's part of a
 * member's data into one document.
 */
export class ComplianceService {
  constructor(
    private readonly db: DataSource,
    private readonly peers: Peers,
    private readonly own: MemberPrivacy,
  ) {}

  async auditLog(identity: Identity, filter: AuditFilter | null, first: number, after: string | null): Promise<AuditEntryConnection> {
    const size = pageSize(first);
    const cursor = decodeTimeIdCursor(after);
    if (filter?.from && filter.to && filter.to <= filter.from) throw new BadInputError('filter.to', 'to must be after from');
    const query: AuditQuery = auditQuery.parse({
      tenant: identity.tenant,
      action: filter?.action ?? undefined,
      targetType: filter?.targetType ?? undefined,
      targetId: filter?.targetId ?? undefined,
      actor: filter?.actor ?? undefined,
      from: filter?.from?.toISOString(),
      to: filter?.to?.toISOString(),
      beforeAt: cursor?.[0],
      beforeId: cursor?.[1],
      first: size + 1,
    });
    const remote = (Object.keys(this.peers) as (keyof Peers)[]).map(async (name) => {
      const reply = await this.peers[name](identity.tenant, 'GET', `/audit?${toQueryString(query)}`).catch(unavailable);
      return entriesReply.parse(reply).entries;
    });
    const lists = await Promise.all([readAuditEntries(this.db, 'analytics', query), ...remote]);
    const merged = lists.flat().sort(compareAuditEntries);
    const countQuery = { ...query, beforeAt: undefined, beforeId: undefined };
    return AuditEntryConnection.from({
      nodes: merged.slice(0, size).map(toNode),
      hasNextPage: merged.length > size,
      cursorOf: (entry) => encodeTimeIdCursor(entry.at, entry.id),
      count: async () => {
        const counts = await Promise.all([
          countAuditEntries(this.db, countQuery),
          ...(Object.keys(this.peers) as (keyof Peers)[]).map(async (name) =>
            countReply.parse(await this.peers[name](identity.tenant, 'GET', `/audit/count?${toQueryString(countQuery)}`).catch(unavailable)).count,
          ),
        ]);
        return counts.reduce((sum, n) => sum + n, 0);
      },
    });
  }

  /**
   * Everything held about the member, by subgraph (GDPR Art. 15 and 20): members' profile,
   * points, ledger and consents, campaigns' activities and returns, rewards' redemptions, what the
   * reports keep, and every audit entry about it, newest first.
   */
  async memberDataExport(identity: Identity, id: string): Promise<Record<string, unknown>> {
    const memberId = parseId(id, 'memberId');
    requireMemberAccess(identity, memberId, access['Query.memberDataExport']);
    const part = async (name: keyof Peers) => {
      const reply = await this.peers[name](identity.tenant, 'GET', `/members/${memberId}/export`).catch(unavailable);
      return reply === null ? null : exportReply.parse(reply);
    };
    const members = await part('members');
    if (!members) throw new NotFoundError('Member', 'memberId');
    const [campaigns, rewards, analytics, analyticsAudit] = await Promise.all([
      part('campaigns'),
      part('rewards'),
      this.own.exportMember(identity.tenant, memberId),
      readAuditEntries(this.db, 'analytics', auditQuery.parse({ tenant: identity.tenant, memberId, first: 1000 })),
    ]);
    const audit = [...members.audit, ...(campaigns?.audit ?? []), ...(rewards?.audit ?? []), ...analyticsAudit].sort(compareAuditEntries);
    return {
      exportedAt: new Date().toISOString(),
      tenant: identity.tenant,
      memberId,
      members: members.sections,
      campaigns: campaigns?.sections ?? {},
      rewards: rewards?.sections ?? {},
      analytics: analytics ?? {},
      auditEntries: audit,
    };
  }
}
