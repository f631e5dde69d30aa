import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import type { Identity } from './identity';

/**
 * The audit log: one append-only entry per staff or API-key mutation, written by the subgraph that
 * made the change, with the manager of the transaction that made it (an entry exists if and only if
 * the change committed). Each subgraph keeps its own `audit_entries`; `auditLog` (analytics) reads
 * them all through `/internal/audit` and merges them in (at, id) order.
 */

/** What one mutation changed, as its service describes it. */
export interface AuditChange {
  /** The mutation's name, e.g. `adjustPoints`. */
  action: string;
  /** The kind of record changed, e.g. `Member`, `Reward`, `Campaign`. */
  targetType: string;
  targetId: string | null;
  /** The member the change is about, if any: what an erasure redacts and an export gathers. */
  memberId?: string | null;
  before?: unknown;
  after?: unknown;
}

/** Staff roles whose mutations are audited, and API keys (`partner`); members acting on themselves and services are not. */
const AUDITED_ROLES = ['admin', 'marketer', 'agent', 'integration', 'partner'] as const;

/** Who an entry names: the token's `sub`, or `apikey:<id>`; null when the caller's mutations are not audited. */
export function auditActor(identity: Identity): string | null {
  return identity.roles.some((role) => (AUDITED_ROLES as readonly string[]).includes(role)) ? identity.principal : null;
}

/**
 * Fields that hold personal data wherever they appear in a before/after snapshot: an erasure
 * removes them from the entries about the member (docs/integrations.md, GDPR).
 */
export const PERSONAL_FIELDS = ['email', 'name', 'externalId', 'attributes', 'orderId', 'storeId', 'channel', 'eventName', 'reason', 'code'] as const;

export interface AuditLogOptions {
  /** Off only to measure what the log costs (`npm run bench`); production refuses it. */
  enabled: boolean;
}

export class AuditLog {
  constructor(private readonly options: AuditLogOptions = { enabled: true }) {}

  /** Appends the entry for `identity`'s change, in the transaction of `manager`; nothing for callers that are not audited. */
  async record(manager: EntityManager, identity: Identity, change: AuditChange): Promise<void> {
    const actor = auditActor(identity);
    if (!actor || !this.options.enabled) return;
    await manager.query(
      `INSERT INTO audit_entries (tenant, actor, roles, action, target_type, target_id, member_id, before, after, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        identity.tenant,
        actor,
        identity.roles.includes('partner') ? identity.scopes.map((scope) => `scope:${scope}`) : identity.roles,
        change.action,
        change.targetType,
        change.targetId,
        change.memberId ?? null,
        change.before === undefined ? null : JSON.stringify(change.before),
        change.after === undefined ? null : JSON.stringify(change.after),
        identity.requestId ?? null,
      ],
    );
  }
}

/** The SQL of a subgraph's audit table, for its migration: entries can be redacted once, never changed otherwise or deleted. */
export const AUDIT_TABLE_SQL = `
  CREATE TABLE audit_entries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant text NOT NULL,
    at timestamptz(3) NOT NULL DEFAULT clock_timestamp(),
    actor text NOT NULL,
    roles text[] NOT NULL,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text,
    member_id uuid,
    before jsonb,
    after jsonb,
    request_id text,
    redacted_at timestamptz
  );
  CREATE INDEX audit_entries_tenant_at ON audit_entries (tenant, at DESC, id DESC);
  CREATE INDEX audit_entries_member ON audit_entries (tenant, member_id) WHERE member_id IS NOT NULL;
  CREATE FUNCTION audit_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'UPDATE' AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
       AND (NEW.id, NEW.tenant, NEW.at, NEW.actor, NEW.roles, NEW.action, NEW.target_type, NEW.target_id, NEW.member_id, NEW.request_id)
           IS NOT DISTINCT FROM (OLD.id, OLD.tenant, OLD.at, OLD.actor, OLD.roles, OLD.action, OLD.target_type, OLD.target_id, OLD.member_id, OLD.request_id) THEN
      RETURN NEW; -- an erasure removing personal data from before/after, once
    END IF;
    RAISE EXCEPTION 'audit_entries is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
  END $$;
  CREATE TRIGGER audit_entries_guard BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_guard();`;

export const DROP_AUDIT_TABLE_SQL = 'DROP TABLE audit_entries; DROP FUNCTION audit_entries_guard();';

/** Removes personal fields from the before/after of the entries about a member (once per entry), in the erasure's transaction. */
export async function redactAuditEntries(manager: EntityManager, tenant: string, memberId: string): Promise<void> {
  await manager.query(
    `UPDATE audit_entries SET before = before - $3::text[], after = after - $3::text[], redacted_at = now()
     WHERE tenant = $1 AND member_id = $2 AND redacted_at IS NULL`,
    [tenant, memberId, PERSONAL_FIELDS],
  );
}

/** How `auditLog` filters, as the internal route receives it. */
export const auditQuery = z.object({
  tenant: z.string().min(1),
  action: z.string().optional(),
  targetType: z.string().optional(),
  targetId: z.string().optional(),
  actor: z.string().optional(),
  memberId: z.string().optional(),
  from: z.iso.datetime().optional(),
  to: z.iso.datetime().optional(),
  /** Newest first: entries strictly before this (at, id). */
  beforeAt: z.iso.datetime().optional(),
  beforeId: z.guid().optional(),
  first: z.coerce.number().int().min(0).max(1000).default(20),
});
export type AuditQuery = z.infer<typeof auditQuery>;

/** An entry as the internal route answers it (and `auditLog` shows it). */
export const auditEntry = z.object({
  id: z.guid(),
  at: z.iso.datetime(),
  actor: z.string(),
  roles: z.array(z.string()),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string().nullable(),
  memberId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  requestId: z.string().nullable(),
  service: z.string(),
});
export type AuditEntryRecord = z.infer<typeof auditEntry>;

/** The WHERE of a query on audit_entries, with its parameters. */
function auditWhere(query: AuditQuery): { where: string[]; params: unknown[] } {
  const where = ['tenant = $1'];
  const params: unknown[] = [query.tenant];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (query.action !== undefined) add('action = ?', query.action);
  if (query.targetType !== undefined) add('target_type = ?', query.targetType);
  if (query.targetId !== undefined) add('target_id = ?', query.targetId);
  if (query.actor !== undefined) add('actor = ?', query.actor);
  if (query.memberId !== undefined) add('member_id::text = ?', query.memberId);
  if (query.from !== undefined) add('at >= ?', query.from);
  if (query.to !== undefined) add('at < ?', query.to);
  if (query.beforeAt !== undefined && query.beforeId !== undefined) {
    params.push(query.beforeAt, query.beforeId);
    where.push(`(at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  return { where, params };
}

/** One subgraph's entries matching `query`, newest first: at most `first`. */
export async function readAuditEntries(db: DataSource, service: string, query: AuditQuery): Promise<AuditEntryRecord[]> {
  const { where, params } = auditWhere(query);
  params.push(query.first);
  const rows = await db.query<
    {
      id: string;
      at: string;
      actor: string;
      roles: string[];
      action: string;
      target_type: string;
      target_id: string | null;
      member_id: string | null;
      before: unknown;
      after: unknown;
      request_id: string | null;
    }[]
  >(
    `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, actor, roles, action, target_type,
            target_id, member_id, before, after, request_id
     FROM audit_entries WHERE ${where.join(' AND ')} ORDER BY at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    actor: row.actor,
    roles: row.roles,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    memberId: row.member_id,
    before: row.before,
    after: row.after,
    requestId: row.request_id,
    service,
  }));
}

/** How many of one subgraph's entries match `query` (its cursor and `first` aside). */
export async function countAuditEntries(db: DataSource, query: AuditQuery): Promise<number> {
  const { where, params } = auditWhere({ ...query, beforeAt: undefined, beforeId: undefined });
  const [row] = await db.query<{ n: string }[]>(`SELECT count(*) AS n FROM audit_entries WHERE ${where.join(' AND ')}`, params);
  return Number(row?.n ?? 0);
}

/** Newest first, then by id descending: the order of `auditLog` across subgraphs (ids are unique across them). */
export const compareAuditEntries = (a: AuditEntryRecord, b: AuditEntryRecord): number =>
  a.at === b.at ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.at < b.at ? 1 : -1;
