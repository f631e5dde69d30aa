import { DataSource, type Logger as OrmLogger, type MixedList, type EntitySchema, type QueryRunner } from 'typeorm';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { queryOrigin } from './query-origin';
import { ensureDatabase } from './pg';

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
    const origin = (runner?.data as { origin?: string } | undefined)?.origin ?? queryOrigin.getStore() ?? 'request';
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
