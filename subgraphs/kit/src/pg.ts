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
