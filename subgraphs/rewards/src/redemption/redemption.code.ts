import { randomInt } from 'node:crypto';

/** No 0/O, 1/I/L: a code read aloud at a till or typed from a screen survives both. */
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** 12 characters of a 31-symbol alphabet (≈ 59 bits, from the CSPRNG), shown as XXXX-XXXX-XXXX. */
export function redemptionCode(): string {
  let raw = '';
  for (let i = 0; i < 12; i++) raw += ALPHABET[randomInt(ALPHABET.length)];
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
}
