import pino, { DestinationStream, Logger } from 'pino';
import type { PrettyOptions, PrettyStream } from 'pino-pretty';
import type { Config } from './config';

export type LogFormat = 'pretty' | 'json';

/** Where log lines go: stdout by default; `isTTY` says whether a person is reading it. */
export type LogOutput = DestinationStream & { readonly isTTY?: boolean };

/** Pretty for a person at a terminal, JSON for machines (a pipe, a file, a log collector) and for production. */
export function chooseLogFormat(config: Pick<Config, 'LOG_FORMAT' | 'NODE_ENV'>, isTTY: boolean): LogFormat {
  if (config.LOG_FORMAT !== 'auto') return config.LOG_FORMAT;
  return isTTY && config.NODE_ENV !== 'production' ? 'pretty' : 'json';
}

/** pino-pretty is a devDependency: present after `npm ci`, absent from an image built with --omit=dev. */
function loadPretty(): ((options: PrettyOptions) => PrettyStream) | undefined {
  try {
    return require('pino-pretty') as (options: PrettyOptions) => PrettyStream;
  } catch {
    return undefined;
  }
}

interface RequestLine {
  readonly req?: { readonly method?: string; readonly url?: string };
  readonly res?: { readonly statusCode?: number };
  readonly responseTime?: number;
}

/** A request log (pino-http) as one short line; anything else as its message. */
const messageFormat = (log: Record<string, unknown>, messageKey: string) => {
  const { req, res, responseTime } = log as RequestLine;
  const message = String(log[messageKey] ?? '');
  return req ? `${req.method} ${req.url} ${res?.statusCode ?? ''} ${responseTime ?? '?'} ms${message === 'request completed' ? '' : ` ${message}`}` : message;
};

/** The process's logger, in the format chooseLogFormat picks for its output. */
export function createLogger(config: Pick<Config, 'LOG_FORMAT' | 'NODE_ENV' | 'LOG_LEVEL'>, output: LogOutput = process.stdout): Logger {
  const format = chooseLogFormat(config, output.isTTY === true);
  const pretty = format === 'pretty' ? loadPretty() : undefined;
  if (!pretty) {
    const logger = pino({ level: config.LOG_LEVEL }, output);
    if (format === 'pretty') logger.warn('LOG_FORMAT=pretty needs pino-pretty (a devDependency, not installed here): logging JSON');
    return logger;
  }
  const stream = pretty({
    destination: output,
    // Synchronous: a line logged just before the process exits is still written.
    sync: true,
    colorize: output.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,req,res,responseTime,startup',
    singleLine: true,
    messageFormat,
  });
  return pino({ level: config.LOG_LEVEL }, stream);
}
