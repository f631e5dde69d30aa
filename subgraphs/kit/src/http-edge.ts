import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from './logger';

/** What body-parser says about a body it refused (`http-errors` shape). */
interface BodyError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

const BODY_MESSAGES: Record<string, string> = {
  'entity.parse.failed': 'The request body is not valid JSON',
  'entity.too.large': 'The request body is too large',
  'encoding.unsupported': 'Unsupported content-encoding',
  'charset.unsupported': 'Unsupported charset; send UTF-8',
  'entity.verify.failed': 'The request body could not be read',
  'request.aborted': 'The request was aborted',
  'request.size.invalid': 'The request body does not match its content-length',
  'stream.encoding.set': 'The request body could not be read',
};

/** A GraphQL-shaped error answer, as every client of ours parses it. */
export function sendRequestError(res: Response, status: number, message: string, headers: Record<string, string> = {}): void {
  res.status(status).set(headers).type('application/json').send(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] }));
}

/**
 * JSON bodies only (`limit` as body-parser takes it): a POST in another media type is 415 here, so
 * it never reaches Apollo as an empty body.
 */
export function jsonBody(limit: string | number, log: Logger): RequestHandler[] {
  const onlyJson: RequestHandler = (req, res, next) => {
    if (req.method !== 'POST' || req.is('application/json')) return next();
    log.info({ requestId: req.requestId, status: 415, code: 'BAD_USER_INPUT', contentType: req.header('content-type') }, 'request refused');
    sendRequestError(res, 415, 'POST bodies must be application/json', { 'accept-post': 'application/json' });
  };
  return [onlyJson, express.json({ limit })];
}

/** After every route: a path nobody serves is a JSON 404, like every other answer of ours. */
export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ errors: [{ message: `Nothing is served at ${req.method} ${req.path}`, extensions: { code: 'NOT_FOUND' } }] });
};

/**
 * The last Express error handler: a body the parser refused (malformed JSON, too large, a charset or
 * content-encoding it cannot read) becomes a GraphQL-shaped 4xx with a code; anything else a masked
 * 500. Express' default page would show a stack trace and file paths.
 */
export function httpErrorHandler(log: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const bodyError = (typeof error === 'object' && error !== null ? error : {}) as BodyError;
    const status = bodyError.status ?? bodyError.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message = (bodyError.type && BODY_MESSAGES[bodyError.type]) ?? 'The request could not be read';
      log.info({ requestId: req.requestId, status, code: 'BAD_USER_INPUT', reason: bodyError.type }, 'request refused');
      sendRequestError(res, status, message);
      return;
    }
    log.error({ err: error, requestId: req.requestId }, 'request failed');
    res.status(500).json({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  };
}
