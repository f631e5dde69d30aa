import { BadInputError } from '@loyalty/kit';

/** Codes one addRewardCodes call may import. */
export const MAX_CODES_PER_IMPORT = 10_000;
/** Characters a pool code may have (as imported, trimmed). */
export const MAX_CODE_LENGTH = 64;

/** Printable ASCII, spaces included: what a till can type and a receipt can print. */
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * The form a pool code is compared in: upper case, without spaces and dashes, as a till may type
 * it. Two codes with the same key are the same code (a duplicate at import, one code at the till).
 */
export function poolCodeKey(input: string): string {
  return input.toUpperCase().replace(/[\s-]/g, '');
}

/** A pool code as stored and shown to the member: the imported text, trimmed. */
export interface PoolCode {
  code: string;
  key: string;
}

/**
 * Checks an import and returns its codes with their keys, in the order given. Refuses (naming
 * `codes` or `codes.<index>`) an empty list, more than MAX_CODES_PER_IMPORT codes, a code that is
 * empty, longer than MAX_CODE_LENGTH, has a character outside printable ASCII, or repeats an earlier
 * one of the list.
 */
export function checkPoolCodes(codes: readonly string[]): PoolCode[] {
  if (codes.length === 0) throw new BadInputError('codes', 'Give at least one code');
  if (codes.length > MAX_CODES_PER_IMPORT) throw new BadInputError('codes', `At most ${MAX_CODES_PER_IMPORT} codes per call`);
  const seen = new Map<string, number>();
  return codes.map((raw, index) => {
    const field = `codes.${index}`;
    const code = raw.trim();
    if (code.length > MAX_CODE_LENGTH) throw new BadInputError(field, `A code has at most ${MAX_CODE_LENGTH} characters`);
    if (code && !PRINTABLE.test(code)) throw new BadInputError(field, 'A code has printable ASCII characters only');
    const key = poolCodeKey(code);
    if (!key) throw new BadInputError(field, 'A code cannot be empty');
    const first = seen.get(key);
    if (first !== undefined) throw new BadInputError(field, `Duplicate of codes.${first}`);
    seen.set(key, index);
    return { code, key };
  });
}
