import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * Parses the environment once, at the edge of a process. Nothing else reads `process.env`:
 * the typed result is passed down explicitly.
 */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.infer<T> {
  // An empty variable (`FOO=`) means unset, as most shells and compose files intend.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  return result.data;
}

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** What every subgraph process reads; a subgraph `.extend()`s it with its own settings. */
export const subgraphEnv = (defaultPort: number, defaultDatabase: string) =>
  z.object({
    NODE_ENV: z.string().default('development'),
    PORT: port(defaultPort),
    HOST: z.string().default('127.0.0.1'),
    DATABASE_URL: z.string().url().default(`postgres://postgres@127.0.0.1:5432/${defaultDatabase}`),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).default(10),
    EVENT_BUS_URL: z.string().url().optional(),
    SERVICE_SECRET: z.string().min(32).optional(),
    LOG_LEVEL: z.string().default('info'),
    DATA_DIR: z.string().default('.data'),
    /** Where services reach the members subgraph's internal API (ledger, member snapshots). */
    MEMBERS_URL: z.string().url().default('http://127.0.0.1:4001'),
    CAMPAIGNS_URL: z.string().url().default('http://127.0.0.1:4002'),
    REWARDS_URL: z.string().url().default('http://127.0.0.1:4003'),
    /** `off` only to measure what the audit log costs (`npm run bench`); refused in production. */
    AUDIT_LOG: z.enum(['on', 'off']).default('on'),
  });

/** The settings every subgraph shares, parsed: what `runSubgraph` needs to boot one. */
export type SubgraphConfig = z.infer<ReturnType<typeof subgraphEnv>>;

/**
 * Secrets: taken from the environment; outside production, when unset, generated once and kept in
 * `<dataDir>/secrets.json` so tokens stay valid across restarts; in production a missing secret is fatal.
 */
export function resolveSecret(
  name: 'JWT_SECRET' | 'SERVICE_SECRET',
  value: string | undefined,
  options: { production: boolean; dataDir: string },
): string {
  if (value) return value;
  if (options.production) throw new Error(`${name} must be set when NODE_ENV=production`);
  const file = join(options.dataDir, 'secrets.json');
  let secrets: Record<string, string> = {};
  try {
    secrets = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch {
    // first start: no file yet
  }
  const existing = secrets[name];
  if (existing) return existing;
  secrets[name] = randomBytes(32).toString('base64url');
  mkdirSync(options.dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets[name];
}

/** The database of the event bus lives beside the subgraph's own, unless configured. */
export function siblingDatabaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
