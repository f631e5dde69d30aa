import { ForbiddenError } from './errors';
import type { Identity, Role } from './identity';

/**
 * One grant of an access rule: a role, or `self`, a member token acting on its own member (its
 * record, points, redemptions, events). `member` grants every member token; `self` only its own.
 */
export type Grant = Role | 'self';
/** Who may do one thing: a row of a subgraph's access table (`src/access.ts`). */
export type AccessRule = readonly Grant[];
/** A subgraph's access policy: operation or field → who may. */
export type AccessTable = Readonly<Record<string, AccessRule>>;

/** The roles of a rule that act on any member of the tenant. */
export const rolesOf = (rule: AccessRule): Role[] => rule.filter((grant): grant is Role => grant !== 'self');

/**
 * The roles an `@Authorized` gate lets through for a rule: `self` admits member tokens, and the
 * resolver or service then checks the member is its own (`requireMemberAccess`).
 */
export const gate = (rule: AccessRule): Role[] => [...new Set(rule.map((grant): Role => (grant === 'self' ? 'member' : grant)))];

/** Whether a member token may act on `memberId` under `rule`: the rule grants `self` and the member is its own. */
export const actsOnSelf = (identity: Identity, memberId: string | null, rule: AccessRule): boolean =>
  rule.includes('self') && identity.roles.includes('member') && identity.memberId !== undefined && (memberId === null || identity.memberId === memberId);

/** Whether the identity holds one of `roles`. A rule that grants `self` goes through `requireMemberAccess` instead. */
export function hasRole(identity: Identity, roles: readonly Role[]): boolean {
  return identity.roles.some((role) => roles.includes(role));
}

/** Throws FORBIDDEN unless the identity holds one of `roles`. Authorization lives where the data does. */
export function requireRole(identity: Identity, roles: readonly Role[]): void {
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
