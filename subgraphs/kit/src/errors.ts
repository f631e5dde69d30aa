import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from './logger';

/** The public error codes (docs/api.md, Errors). Nothing else reaches a client. */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'INSUFFICIENT_POINTS',
  'OUT_OF_STOCK',
  'NOT_ELIGIBLE',
  'REWARD_UNAVAILABLE',
  'BUDGET_EXHAUSTED',
  'IDEMPOTENCY_CONFLICT',
  'CONFLICT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
const PUBLIC_CODES = new Set<string>(ERROR_CODES);

/** A domain error: a stable code, a message safe to show, and optionally the input field at fault. */
export class DomainError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message, { extensions: field ? { code, field } : { code } });
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export class BadInputError extends DomainError {
  constructor(field: string, message: string) {
    super('BAD_USER_INPUT', message, field);
  }
}
export class NotFoundError extends DomainError {
  constructor(what: string, field = 'id', message = `${what} not found`) {
    super('NOT_FOUND', message, field);
  }
}
export class ConflictError extends DomainError {
  constructor(field: string, message: string) {
    super('CONFLICT', message, field);
  }
}
export class UnauthenticatedError extends DomainError {
  constructor(message = 'Authentication required') {
    super('UNAUTHENTICATED', message);
  }
}
export class ForbiddenError extends DomainError {
  constructor(message = 'Not allowed for this identity') {
    super('FORBIDDEN', message);
  }
}
export class IdempotencyConflictError extends DomainError {
  constructor() {
    super(
      'IDEMPOTENCY_CONFLICT',
      'This idempotency key was already used with a different input',
      'idempotencyKey',
    );
  }
}

/**
 * A subgraph this one depends on cannot be reached, so nothing was decided and nothing written:
 * the same request (same idempotency key) may be sent again later.
 */
export class ServiceUnavailableError extends DomainError {
  constructor(message = 'A service this request needs is unavailable; retry later with the same idempotency key') {
    super('SERVICE_UNAVAILABLE', message);
    this.extensions.retryable = true;
  }
}

/** Codes graphql-js and Apollo give to malformed requests: the caller's fault, so BAD_USER_INPUT. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

interface ValidationErrorLike {
  property: string;
  constraints?: Record<string, string>;
  children?: ValidationErrorLike[];
}

/** class-validator nests errors of nested inputs; report the deepest property path and its message. */
function firstViolation(errors: ValidationErrorLike[], prefix = ''): { field: string; message: string } | undefined {
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const message = error.constraints ? Object.values(error.constraints)[0] : undefined;
    if (message) return { field, message };
    const nested = firstViolation(error.children ?? [], field);
    if (nested) return nested;
  }
  return undefined;
}

/** graphql-js names the offending path of a coerced variable in its message: `at "input.points"`. */
function fieldFromCoercionMessage(message: string): string | undefined {
  const at = /at "([^"]+)"/.exec(message)?.[1];
  if (at) return at.split('.').slice(1).join('.') || at;
  return /Variable "\$([^"]+)"/.exec(message)?.[1];
}

/**
 * Apollo refuses some malformed requests (an unsupported persisted-query version, a hash that does
 * not match its query) with a 4xx HTTP status but no code; they are the caller's fault all the same.
 */
function isUncodedRequestError(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** True when an error is one we raised on purpose (a public code), false for anything unexpected. */
export function isExpected(error: { extensions?: Record<string, unknown> }): boolean {
  const code = error.extensions?.code;
  return typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR' && (PUBLIC_CODES.has(code) || REQUEST_ERROR_CODES.has(code));
}

/**
 * The one place that decides what an error looks like to a client: public codes keep their message
 * and field, request errors become BAD_USER_INPUT, and anything else is masked, so SQL, stack
 * traces and URLs never leave the process (they are logged with the request id by `errorLogging`).
 */
export function formatError(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError {
  const extensions = formatted.extensions ?? {};
  const code = typeof extensions.code === 'string' ? extensions.code : undefined;
  if (code === 'SERVICE_UNAVAILABLE') {
    return { message: formatted.message, path: formatted.path, extensions: { code, retryable: true } };
  }
  if (isUncodedRequestError(error)) {
    return { message: formatted.message, locations: formatted.locations, extensions: { code: 'BAD_USER_INPUT' } };
  }
  const { path, locations } = formatted;

  if (code === 'BAD_USER_INPUT' && Array.isArray(extensions.validationErrors)) {
    const violation = firstViolation(extensions.validationErrors as ValidationErrorLike[]);
    return {
      message: violation ? `Invalid ${violation.field}: ${violation.message}` : formatted.message,
      path,
      locations,
      extensions: { code, ...(violation ? { field: violation.field } : {}) },
    };
  }
  if (code && PUBLIC_CODES.has(code) && code !== 'INTERNAL_SERVER_ERROR') {
    const field =
      typeof extensions.field === 'string'
        ? extensions.field
        : code === 'BAD_USER_INPUT'
          ? fieldFromCoercionMessage(formatted.message)
          : undefined;
    const retryable = extensions.retryable === true ? { retryable: true } : {};
    return { message: formatted.message, path, locations, extensions: { code, ...(field ? { field } : {}), ...retryable } };
  }
  if (code && REQUEST_ERROR_CODES.has(code)) {
    const field = typeof extensions.field === 'string' ? extensions.field : undefined;
    return { message: formatted.message, locations, extensions: field ? { code: 'BAD_USER_INPUT', field } : { code: 'BAD_USER_INPUT' } };
  }
  return { message: 'Internal server error', path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** Apollo Server plugin: logs every unexpected error with the request id before it is masked. */
export function errorLogging<TContext extends { requestId?: string }>(log: Logger): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          const requestId = contextValue.requestId;
          const unexpected = errors.filter((error) => !isExpected(error) && !isUncodedRequestError(error));
          for (const error of unexpected) {
            log.error({ err: error.originalError ?? error, requestId, path: error.path }, 'unexpected error');
          }
          // A refused request is the caller's business, not an incident: one line, below error.
          const refused = errors.find((error) => !unexpected.includes(error));
          if (unexpected.length === 0 && refused) {
            const { code, field } = refused.extensions as { code?: string; field?: string };
            log.info({ requestId, code: REQUEST_ERROR_CODES.has(code ?? '') || !code ? 'BAD_USER_INPUT' : code, field, path: refused.path, errors: errors.length }, 'request refused');
          }
        },
      };
    },
  };
}

