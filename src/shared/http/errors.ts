import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors';
import { InvalidCursor } from '../documents/port';
import { DatabaseUnavailable } from '../postgres';
import { HttpProblem, problem, ProblemBody, statusOfKind } from './problem';

interface Mapped {
  readonly status: number;
  readonly body: ProblemBody;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The one place where any error becomes an RFC 9457 answer. */
export function errorToProblem(error: unknown): Mapped {
  if (error instanceof DomainError) {
    const status = statusOfKind[error.kind];
    return { status, body: problem(status, error.code, error.message, error.details ? { ...error.details } : {}) };
  }
  if (error instanceof HttpProblem) {
    return { status: error.status, body: problem(error.status, error.code, error.message, { ...error.extra }), headers: error.headers };
  }
  if (error instanceof DatabaseUnavailable) {
    // A write's statement either committed whole or not at all; a retry with the same Idempotency-Key tells which.
    return { status: 503, body: problem(503, 'STORE_UNAVAILABLE', 'the database is unavailable or overloaded; retry shortly'), headers: { 'Retry-After': '1' } };
  }
  if (error instanceof InvalidCursor) return { status: 400, body: problem(400, 'VALIDATION_FAILED', error.message, { errors: [{ in: 'query', path: 'cursor', message: error.message }] }) };
  const bodyParserType = (error as { type?: string } | null)?.type;
  if (bodyParserType === 'entity.parse.failed') return { status: 400, body: problem(400, 'MALFORMED_JSON', 'the body is not valid JSON') };
  if (bodyParserType === 'entity.too.large') return { status: 413, body: problem(413, 'PAYLOAD_TOO_LARGE', 'the body is too large') };
  if (bodyParserType === 'encoding.unsupported' || bodyParserType === 'charset.unsupported') {
    return { status: 415, body: problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'send UTF-8 JSON, uncompressed or in gzip, deflate or br') };
  }
  const status = clientStatusOf(error);
  if (status !== undefined) return { status, body: clientProblem(error, status) };
  return { status: 500, body: problem(500, 'INTERNAL', 'something went wrong on our side') };
}

/**
 * A 4xx status carried by an error from the HTTP stack (http-errors, as the router and the body
 * parser throw them): the client's mistake, answered as that 4xx however it is spelled.
 */
function clientStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const found = typeof status === 'number' ? status : statusCode;
  return typeof found === 'number' && Number.isInteger(found) && found >= 400 && found < 500 ? found : undefined;
}

/** Our own words only: the error's message may quote the request or name our internals. */
function clientProblem(error: unknown, status: number): ProblemBody {
  if (error instanceof URIError) return problem(400, 'MALFORMED_PATH', 'the path has a malformed percent escape');
  // The body parser wraps a failed inflate (zlib's Z_DATA_ERROR, Z_BUF_ERROR, brotli's ERR__ERROR_FORMAT...) in a 400.
  if (status === 400) return problem(400, 'MALFORMED_BODY', 'the body could not be read: does it match its Content-Encoding?');
  return problem(status, status === 404 ? 'ROUTE_NOT_FOUND' : `HTTP_${status}`, 'the request was refused');
}

/**
 * Logs a failure behind an answer. A refusal we chose (a DomainError, an HttpProblem: a 503
 * after a client's wait for a position the log has not reached) is a warning without a stack,
 * so that a client cannot flood the error log; only our own failures are errors with a stack.
 */
export function logFailure(logger: Logger, error: unknown, context: Record<string, unknown>, message: string): void {
  if (error instanceof DomainError || error instanceof HttpProblem) {
    logger.warn({ ...context, code: error.code, status: errorToProblem(error).status }, message);
  } else logger.error({ ...context, err: error }, message);
}

/** errorToProblem, with 5xx answers logged: stack traces go to the log only. */
export function problemToAnswer(error: unknown, logger: Logger, reqId: unknown): Mapped {
  const mapped = errorToProblem(error);
  if (mapped.status >= 500) logFailure(logger, error, { reqId }, 'request failed');
  return mapped;
}

export function problemMiddleware(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    const { status, body, headers } = problemToAnswer(error, logger, req.id);
    for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
    res.status(status).type('application/problem+json').json(body);
  };
}
