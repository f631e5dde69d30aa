import { hasRole, type Identity } from '@loyalty/kit';
import { access } from '../access';
import { refusal, type RewardTerms } from './reward.eligibility';

/** Who sees the whole catalog; anyone else (a member, a catalog:read key) sees only what can be redeemed today. */
export const seesWholeCatalog = (identity: Identity): boolean => hasRole(identity, access['Reward.unavailable']);

interface Window {
  active: boolean;
  validFrom: Date | string | null;
  validUntil: Date | string | null;
}

/** Why a reward cannot be redeemed today, or null when it can: the availability gates of reward.eligibility.ts. */
export function unavailability(reward: Window, now = Date.now()): string | null {
  // The availability gates read only the window.
  return refusal({ reward: reward as RewardTerms, now }, ['availability'])?.message ?? null;
}

/** A reward as `identity` may see it: hidden (null) from a restricted identity when it cannot be redeemed today. */
export function visibleTo<T extends Window>(identity: Identity, reward: T | null): T | null {
  if (!reward) return null;
  return seesWholeCatalog(identity) || unavailability(reward) === null ? reward : null;
}
