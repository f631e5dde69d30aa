import { hasRole, type Identity } from '@loyalty/kit';
import { access } from '../access';

/** Who sees the whole catalog; anyone else (a member, a catalog:read key) sees only what can be redeemed today. */
export const seesWholeCatalog = (identity: Identity): boolean => hasRole(identity, access['Reward.unavailable']);

interface Window {
  active: boolean;
  validFrom: Date | string | null;
  validUntil: Date | string | null;
}

/**
 * Why a reward cannot be redeemed now, or null when it can. The same rule in SQL is
 * `RewardRepository`'s `activeOnly` filter.
 */
export function unavailability(reward: Window, now = Date.now()): string | null {
  if (!reward.active) return 'This reward is not active';
  if ((reward.validFrom && new Date(reward.validFrom).getTime() > now) || (reward.validUntil && new Date(reward.validUntil).getTime() <= now)) {
    return 'This reward is outside its validity window';
  }
  return null;
}

/** A reward as `identity` may see it: hidden (null) from a restricted identity when it cannot be redeemed today. */
export function visibleTo<T extends Window>(identity: Identity, reward: T | null): T | null {
  if (!reward) return null;
  return seesWholeCatalog(identity) || unavailability(reward) === null ? reward : null;
}
