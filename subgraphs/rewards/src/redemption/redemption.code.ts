import { normalizeReadableCode, readableCode } from '@loyalty/kit';

/** Redemption codes: 12 readable symbols (≈ 59 bits, from the CSPRNG), shown as XXXX-XXXX-XXXX. */
const LENGTH = 12;

/**
 * A code as a till may type it (any case, with or without dashes and spaces) in its stored form,
 * or null when it cannot be one: nothing is looked up for it.
 */
export const normalizeCode = (input: string): string | null => normalizeReadableCode(input, LENGTH);

export const redemptionCode = (): string => readableCode(LENGTH);
