import { BadInputError, decodeCursor, encodeCursor, type CursorPart } from '@loyalty/kit';
import { registerEnumType } from 'type-graphql';

/** The orders of `members(orderBy)`; every one ends with `id`, so ties never shuffle between pages. */
export enum MemberOrder {
  ENROLLED_AT_ASC = 'ENROLLED_AT_ASC',
  ENROLLED_AT_DESC = 'ENROLLED_AT_DESC',
  EMAIL_ASC = 'EMAIL_ASC',
  NAME_ASC = 'NAME_ASC',
}
registerEnumType(MemberOrder, {
  name: 'MemberOrder',
  description: 'The order of `members`; members that tie are ordered by id.',
  valuesConfig: {
    ENROLLED_AT_ASC: { description: 'oldest enrolment first (the default)' },
    ENROLLED_AT_DESC: { description: 'newest enrolment first' },
    EMAIL_ASC: { description: 'by email, case-insensitive, code point order; erased members (no email) last' },
    NAME_ASC: { description: 'by name, case-insensitive, code point order; members without a name last' },
  },
});

/**
 * A member without an email or a name sorts after every other: the highest code point stands in
 * for the missing value, in the sort key and in the indexes of migration 1763800000015 alike.
 */
const LAST = 'chr(1114111)';
export const EMAIL_KEY_SQL = (alias: string) => `(COALESCE(lower(${alias}.email), ${LAST}) COLLATE "C")`;
export const NAME_KEY_SQL = (alias: string) => `(COALESCE(lower(${alias}.name), ${LAST}) COLLATE "C")`;

/**
 * How one order reads: its key, its direction, and what a cursor of it carries. Text keys are read
 * back from SQL with the row (never recomputed here): lower() is PostgreSQL's, and a cursor must
 * carry exactly the value the comparison after it sees.
 */
export interface OrderSpec {
  key: (alias: string) => string;
  direction: 'ASC' | 'DESC';
  keyPart: Extract<CursorPart, 'timestamp' | 'string'>;
}

export const ORDERS: Record<MemberOrder, OrderSpec> = {
  ENROLLED_AT_ASC: { key: (m) => `${m}.enrolled_at`, direction: 'ASC', keyPart: 'timestamp' },
  ENROLLED_AT_DESC: { key: (m) => `${m}.enrolled_at`, direction: 'DESC', keyPart: 'timestamp' },
  EMAIL_ASC: { key: EMAIL_KEY_SQL, direction: 'ASC', keyPart: 'string' },
  NAME_ASC: { key: NAME_KEY_SQL, direction: 'ASC', keyPart: 'string' },
};

/** The keyset position after which a page starts. */
export interface MemberCursor {
  key: string;
  id: string;
}

/**
 * Cursors of the default order keep the shape they always had (`[enrolledAt, id]`), so cursors
 * clients already hold stay valid; cursors of the other orders name their order first, so a
 * cursor used with another order is refused instead of starting at a meaningless position.
 */
export function encodeMemberCursor(order: MemberOrder, { key, id }: MemberCursor): string {
  return order === MemberOrder.ENROLLED_AT_ASC ? encodeCursor([key, id]) : encodeCursor([order, key, id]);
}

export function decodeMemberCursor(order: MemberOrder, after: string | null | undefined): MemberCursor | undefined {
  const spec = ORDERS[order];
  if (order === MemberOrder.ENROLLED_AT_ASC) {
    const values = decodeCursor(after, [spec.keyPart, 'uuid']);
    return values && { key: values[0] as string, id: values[1] as string };
  }
  const values = decodeCursor(after, ['string', spec.keyPart, 'uuid']);
  if (!values) return undefined;
  if (values[0] !== order) throw new BadInputError('after', `after is a cursor of another order than ${order}`);
  return { key: values[1] as string, id: values[2] as string };
}

/** `%`, `_` and `\` a user types are characters to find, not LIKE wildcards (LIKE's escape is `\`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export const NAME_CONTAINS = { min: 2, max: 100 } as const;
export const EMAIL_PREFIX = { min: 1, max: 254 } as const;

/** The search texts of a filter, checked (BAD_USER_INPUT naming `filter.<field>`) and turned into LIKE patterns. */
export function searchPatterns(filter: { emailPrefix?: string | null; nameContains?: string | null }): { emailLike?: string; nameLike?: string } {
  const patterns: { emailLike?: string; nameLike?: string } = {};
  const { emailPrefix, nameContains } = filter;
  if (emailPrefix !== undefined && emailPrefix !== null) {
    const length = [...emailPrefix].length;
    if (length < EMAIL_PREFIX.min || length > EMAIL_PREFIX.max) {
      throw new BadInputError('filter.emailPrefix', `emailPrefix must be ${EMAIL_PREFIX.min} to ${EMAIL_PREFIX.max} characters, got ${length}`);
    }
    patterns.emailLike = `${escapeLike(emailPrefix.toLowerCase())}%`;
  }
  if (nameContains !== undefined && nameContains !== null) {
    const length = [...nameContains].length;
    if (length < NAME_CONTAINS.min || length > NAME_CONTAINS.max) {
      throw new BadInputError('filter.nameContains', `nameContains must be ${NAME_CONTAINS.min} to ${NAME_CONTAINS.max} characters, got ${length}`);
    }
    patterns.nameLike = `%${escapeLike(nameContains.toLowerCase())}%`;
  }
  return patterns;
}
