import { normalizeReadableCode } from '@loyalty/kit';

/** A referral code: 8 symbols of the readable alphabet, stored as XXXX-XXXX. */
export const REFERRAL_CODE_LENGTH = 8;

/** A referral code as a person may type it, in its stored form; null when it cannot be one (nothing is looked up). */
export const normalizeReferralCode = (input: string): string | null => normalizeReadableCode(input, REFERRAL_CODE_LENGTH);

/** Who a member is, as far as recognising the same person goes. */
export interface ReferralIdentity {
  email: string | null;
  externalId: string | null;
}

/** A member on a referral chain: the referrer first, then the member that referred it, and so on. */
export interface ReferralLink extends ReferralIdentity {
  id: string;
}

export type ReferralRefusal = 'SELF_REFERRAL' | 'REFERRAL_LOOP';

const samePerson = (a: ReferralIdentity, b: ReferralIdentity) =>
  (a.email !== null && b.email !== null && a.email.trim().toLowerCase() === b.email.trim().toLowerCase()) ||
  (a.externalId !== null && b.externalId !== null && a.externalId === b.externalId);

/**
 * Whether a member enrolling as `enrolling` may be linked to the referrer that starts `chain`:
 * not when the referrer is the same person (its email or externalId: SELF_REFERRAL), nor when
 * anyone further up the chain is (the enrolling person referred its referrer, directly or not:
 * REFERRAL_LOOP). Null: the link may be made.
 */
export function referralRefusal(enrolling: ReferralIdentity, chain: readonly ReferralLink[]): ReferralRefusal | null {
  const [referrer, ...above] = chain;
  if (!referrer) return null;
  if (samePerson(enrolling, referrer)) return 'SELF_REFERRAL';
  return above.some((link) => samePerson(enrolling, link)) ? 'REFERRAL_LOOP' : null;
}
