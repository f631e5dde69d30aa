import { randomInt } from 'node:crypto';

/** No 0/O, 1/I/L: a code read aloud at a till or typed from a screen survives both. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

const SHAPE = new RegExp(`^[${ALPHABET}]{12}$`);

/**
 * A code as a till may type it (any case, with or without dashes and spaces) in its stored form,
 * or null when it cannot be one: nothing is looked up for it.
 */
export function normalizeCode(input: string): string | null {
  const raw = input.toUpperCase().replace(/[\s-]/g, '');
  return SHAPE.test(raw) ? `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}` : null;
}

/** 12 characters of a 31-symbol alphabet (≈ 59 bits, from the CSPRNG), shown as XXXX-XXXX-XXXX. */
export function redemptionCode(): string {
  let raw = '';
  for (let i = 0; i < 12; i++) raw += ALPHABET[randomInt(ALPHABET.length)];
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
}
