import { BadInputError } from './errors';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs: anything else is the caller's mistake (BAD_USER_INPUT naming the field), not a lookup. */
export function parseId(value: string, field: string): string {
  if (!UUID.test(value)) throw new BadInputError(field, `${field} is not a valid id`);
  return value.toLowerCase();
}
