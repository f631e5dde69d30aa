import 'reflect-metadata';

export * from './auth';
export * from './boot';
export * from './cache';
export * from './config';
export * from './db';
export * from './errors';
export * from './events/bus';
export * from './events/outbox';
export * from './events/postgres-bus';
export * from './federation';
export * from './identity';
export * from './ledger-client';
export * from './logger';
export * from './metrics';
export * from './pagination';
export * from './scalars';
export * from './server';
