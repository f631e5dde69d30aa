import { GraphQLScalarType } from 'graphql';
import { DateTimeISOResolver, GraphQLSafeInt, JSONObjectResolver } from 'graphql-scalars';

/** `DateTime` (docs/api.md, Conventions): an ISO-8601 string. */
export const DateTimeScalar = new GraphQLScalarType({
  ...DateTimeISOResolver.toConfig(),
  name: 'DateTime',
  description: 'An ISO-8601 date-time string in UTC, e.g. 2026-11-22T09:00:00.000Z.',
});

/** `JSON`: a JSON object (attributes, eligibility conditions). */
export const JSONScalar = new GraphQLScalarType({
  ...JSONObjectResolver.toConfig(),
  name: 'JSON',
  description: 'A JSON object.',
});

/** Aggregates (sums over a tenant, a campaign, a period) outgrow Int's 32 bits; one balance does not. */
export const SafeIntScalar = new GraphQLScalarType({
  ...GraphQLSafeInt.toConfig(),
  name: 'SafeInt',
  description: 'An integer between -(2^53 - 1) and 2^53 - 1: sums that can pass the 32 bits of Int.',
});
