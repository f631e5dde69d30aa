import type { ObjectLiteral, Repository } from 'typeorm';

/**
 * The batch-function contract of a DataLoader: one value per key, in the order and number of the
 * keys, whatever order the rows came back in; null for a key without a row (a missing row is an
 * answer, not an error).
 */
export function inKeyOrder<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): (R | null)[] {
  const byKey = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => byKey.get(key) ?? null);
}

/** A DataLoader batch of a tenant's entities by id: one statement for any number of ids, in the order of `ids`. */
export async function findByIdsInKeyOrder<T extends ObjectLiteral & { id: string; tenant: string }>(
  repository: Repository<T>,
  tenant: string,
  ids: readonly string[],
): Promise<(T | null)[]> {
  const rows = await repository.createQueryBuilder('e').where('e.tenant = :tenant AND e.id = ANY(:ids)', { tenant, ids }).getMany();
  return inKeyOrder(ids, rows, (row) => row.id);
}
