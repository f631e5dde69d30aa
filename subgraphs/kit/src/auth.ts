import { ForbiddenError } from './errors';
import type { Identity, Role } from './identity';

/**
 * What an API key may do, one scope per kind of call. A key holds the role `partner` and its scopes;
 * the role grants nothing by itself, so a key can never do more than the scopes it was given.
 */
export const SCOPES = ['catalog:read', 'members:read', 'activities:write', 'redemptions:write'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * One grant of an access rule: a role, a key scope, or `self`, a member token acting on its own
 * member (its record, points, redemptions, events). `member` grants every member token; `self`
 * only its own.
 */
export type Grant = Role | Scope | 'self';
/** A grant that admits whoever holds it, on any member of the tenant. */
export type Holding = Exclude<Grant, 'self'>;
/** Who may do one thing: a row of a subgraph's access table (`src/access.ts`). */
export type AccessRule = readonly Grant[];
/** A subgraph's access policy: operation or field → who may. */
export type AccessTable = Readonly<Record<string, AccessRule>>;

/** The roles and scopes of a rule that act on any member of the tenant. */
export const rolesOf = (rule: AccessRule): Holding[] => rule.filter((grant): grant is Holding => grant !== 'self');

/**
 * The roles an `@Authorized` gate lets through for a rule: `self` admits member tokens, and the
 * resolver or service then checks the member is its own (`requireMemberAccess`).
 */
export const gate = (rule: AccessRule): Holding[] => [...new Set(rule.map((grant): Holding => (grant === 'self' ? 'member' : grant)))];

/** Whether a member token may act on `memberId` under `rule`: the rule grants `self` and the member is its own. */
export const actsOnSelf = (identity: Identity, memberId: string | null, rule: AccessRule): boolean =>
  rule.includes('self') && identity.roles.includes('member') && identity.memberId !== undefined && (memberId === null || identity.memberId === memberId);

/**
 * Whether the identity holds one of `roles`: one of its roles, or, for an API key, one of its
 * scopes. A rule that grants `self` goes through `requireMemberAccess` instead.
 */
export function hasRole(identity: Identity, roles: readonly Holding[]): boolean {
  if (identity.roles.some((role) => roles.includes(role))) return true;
  return identity.roles.includes('partner') && identity.scopes.some((scope) => roles.includes(scope as Scope));
}

/** Throws FORBIDDEN unless the identity holds one of `roles`. Authorization lives where the data does. */
export function requireRole(identity: Identity, roles: readonly Holding[]): void {
  if (!hasRole(identity, roles)) throw new ForbiddenError(`Requires one of the roles: ${roles.join(', ')}`);
}

/**
 * Staff and integrations with a role of `rule` may touch any member of their tenant (tenant
 * scoping is applied by every repository query); a member token only its own, when the rule
 * grants `self`.
 */
export function requireMemberAccess(identity: Identity, memberId: string, rule: AccessRule): void {
  if (hasRole(identity, rolesOf(rule))) return;
  if (actsOnSelf(identity, memberId, rule)) return;
  throw new ForbiddenError('Not allowed to access this member');
}
