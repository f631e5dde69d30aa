// `@loyalty/kit/core`: the kit without TypeORM, type-graphql, @apollo/subgraph or reflect-metadata
// — what the gateway loads. Errors, identity and roles, config, logs and metrics, the HTTP edge and
// client, the bounded stream, the event catalogue and the (plain pg) event bus. The subgraph side
// (`@loyalty/kit`, index.ts) adds the database, outbox, schema building and the rest on top.
// test/artefacts.test.ts fails when the built gateway loads one of them.
export * from './auth';
export * from './cache';
export * from './codes';
export * from './config';
export * from './errors';
export * from './experiment';
export * from './events/bus';
export * from './events/catalog';
export * from './events/reader';
export * from './events/postgres-bus';
export * from './http';
export * from './http-edge';
export * from './identity';
export * from './ids';
export * from './input-guard';
export * from './jobs';
export * from './ledger-api';
export * from './logger';
export * from './metrics';
export * from './pg';
export * from './server';
export * from './stream';
