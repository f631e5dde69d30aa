import { ForbiddenError } from './errors';
import type { Identity, Role } from './identity';

/** Staff and server roles: everything a tenant's people and systems may be, minus the member itself. */
export const STAFF: readonly Role[] = ['admin', 'marketer', 'agent'];

export function hasRole(identity: Identity, roles: readonly Role[]): boolean {
  return identity.roles.some((role) => roles.includes(role));
}

/** Throws FORBIDDEN unless the identity holds one of `roles`. Authorization lives where the data does. */
export function requireRole(identity: Identity, roles: readonly Role[]): void {
  if (!hasRole(identity, roles)) throw new ForbiddenError(`Requires one of the roles: ${roles.join(', ')}`);
}

/**
 * A member token may touch only its own member; staff and integrations with `allowed` roles may
 * touch any member of their tenant (tenant scoping is applied by every repository query).
 */
export function requireMemberAccess(identity: Identity, memberId: string, allowed: readonly Role[]): void {
  if (hasRole(identity, allowed)) return;
  if (identity.roles.includes('member') && identity.memberId === memberId) return;
  throw new ForbiddenError('Not allowed to access this member');
}
