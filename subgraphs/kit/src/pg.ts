import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

// PostgreSQL helpers without TypeORM: the gateway and the event bus use them too.

/** Creates the database named in `url` when it does not exist yet (first start, fresh server). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new Error(`Unsupported database name: ${database}`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${database}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04' && error.code !== '23505') throw error; // created meanwhile by a replica
      });
    }
  } finally {
    await client.end();
  }
}

/**
 * The server is going away or not yet up (admin shutdown, crash shutdown, cannot connect now): on
 * Ctrl-C everything stops at once, so such losses are expected and logged at info, not as warnings.
 */
export function severity(error: unknown): 'info' | 'warn' {
  const code = (error as { code?: string } | undefined)?.code;
  return code === '57P01' || code === '57P02' || code === '57P03' ? 'info' : 'warn';
}

/** The constraint (or unique index) a statement violated as a duplicate, else undefined. */
export function uniqueViolation(error: unknown): string | undefined {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  return code === '23505' ? (constraint ?? '') : undefined;
}

/** deadlock_detected, serialization_failure: PostgreSQL rolled the whole transaction back. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * Runs `transaction` again (up to `attempts` times in all, after a short random pause) when
 * PostgreSQL picked it as a deadlock's victim or failed it for serialization. The transaction was
 * rolled back whole, so running it again from the start is safe; PostgreSQL's own advice.
 */
export async function retryTransaction<T>(transaction: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= attempts || !RETRYABLE.has((error as { code?: string } | undefined)?.code ?? '')) throw error;
      await sleep(attempt * 5 + Math.random() * 20);
    }
  }
}
