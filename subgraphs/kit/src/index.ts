import 'reflect-metadata';

// `@loyalty/kit`: the subgraph side. Everything of `@loyalty/kit/core`, plus what needs TypeORM,
// type-graphql or @apollo/subgraph.
export * from './core';
export * from './audit';
export * from './boot';
export * from './db';
export * from './events/bus-migrations';
export * from './events/outbox';
export * from './events/positions';
export * from './federation';
export * from './idempotency';
export * from './key-order';
export * from './ledger-client';
export * from './pagination';
export * from './privacy';
export * from './saga';
export * from './scalars';
