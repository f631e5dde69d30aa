import { randomInt } from 'node:crypto';

/**
 * Codes people read aloud or type from a screen (redemption codes, referral codes): no 0/O, 1/I/L,
 * so a code survives both. Shown in groups of 4 joined by dashes.
 */
export const READABLE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

const group = (raw: string) => (raw.match(/.{1,4}/g) ?? []).join('-');

/** `length` symbols of the readable alphabet from the CSPRNG, grouped as XXXX-XXXX…. */
export function readableCode(length: number): string {
  let raw = '';
  for (let i = 0; i < length; i++) raw += READABLE_ALPHABET[randomInt(READABLE_ALPHABET.length)];
  return group(raw);
}

/**
 * A code of `length` symbols as a person may type it (any case, with or without dashes and
 * spaces) in its stored form, or null when it cannot be one: nothing is looked up for it.
 */
export function normalizeReadableCode(input: string, length: number): string | null {
  const raw = input.toUpperCase().replace(/[\s-]/g, '');
  return raw.length === length && [...raw].every((c) => READABLE_ALPHABET.includes(c)) ? group(raw) : null;
}
