import { Client } from 'pg';
import { DataSource, type Logger as OrmLogger, type MixedList, type EntitySchema, type QueryRunner } from 'typeorm';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  // TypeORM's own option types: entity classes and migration classes.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  log: Logger;
  metrics?: Metrics;
}

/** TypeORM's logger hook, used to count statements (tests assert batching with it) and log failures. */
class CountingLogger implements OrmLogger {
  constructor(
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}
  logQuery(query: string, _parameters?: unknown[], runner?: QueryRunner): void {
    const kind = /^\s*(\w+)/.exec(query)?.[1]?.toUpperCase() ?? 'OTHER';
    const origin = (runner?.data as { origin?: string } | undefined)?.origin ?? 'request';
    this.metrics?.dbQueries.inc({ kind, origin });
  }
  logQueryError(error: string | Error, query: string): void {
    this.logger.debug({ err: error, query }, 'query failed');
  }
  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ time, query }, 'slow query');
  }
  logSchemaBuild(): void {}
  logMigration(message: string): void {
    this.logger.info(message);
  }
  log(): void {}
}

export function createDataSource(options: DatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: options.entities,
    migrations: options.migrations,
    synchronize: false,
    migrationsTableName: 'migrations',
    logging: ['query', 'error', 'migration'],
    logger: new CountingLogger(options.log, options.metrics),
    maxQueryExecutionTime: 1000,
    extra: { max: options.poolSize, application_name: options.log.bindings()['service'] as string },
  });
}

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
 * Connects and runs pending migrations under an advisory lock, so replicas starting together
 * migrate once and in order.
 */
export async function connectAndMigrate(dataSource: DataSource, url: string): Promise<DataSource> {
  await ensureDatabase(url);
  await dataSource.initialize();
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock(727274)');
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
    await runner.release();
  }
  return dataSource;
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
