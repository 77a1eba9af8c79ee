import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../domain/errors';
import { InvalidCursor } from '../documents/port';
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
  if (error instanceof InvalidCursor) return { status: 400, body: problem(400, 'VALIDATION_FAILED', error.message, { errors: [{ in: 'query', path: 'cursor', message: error.message }] }) };
  const bodyParserType = (error as { type?: string } | null)?.type;
  if (bodyParserType === 'entity.parse.failed') return { status: 400, body: problem(400, 'MALFORMED_JSON', 'the body is not valid JSON') };
  if (bodyParserType === 'entity.too.large') return { status: 413, body: problem(413, 'PAYLOAD_TOO_LARGE', 'the body is too large') };
  if (bodyParserType === 'encoding.unsupported' || bodyParserType === 'charset.unsupported') {
    return { status: 415, body: problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'send UTF-8 JSON') };
  }
  return { status: 500, body: problem(500, 'INTERNAL', 'something went wrong on our side') };
}

/** errorToProblem, with our own failures logged: stack traces go to the log only. */
export function problemToAnswer(error: unknown, logger: Logger, reqId: unknown): Mapped {
  const mapped = errorToProblem(error);
  if (mapped.status >= 500) logger.error({ err: error, reqId }, 'request failed');
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
