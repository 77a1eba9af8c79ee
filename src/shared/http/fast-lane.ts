import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import etag from 'etag';
import type { Logger } from 'pino';
import proxyaddr from 'proxy-addr';
import { problemToAnswer } from './errors';
import { expressPathOf, mayWaitForOwnWrites, querySchemaOf, RouteDefinition, RouteResult, RouteRuntime, routeServer } from './route';

/** Takes the request and returns true, or returns false having touched nothing. */
export type FastLane = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface FastLaneOptions {
  /** Every API route, in the order Express tries them. */
  readonly routes: readonly RouteDefinition[];
  readonly runtime: RouteRuntime;
  /** Headers every response carries (the security headers). */
  readonly headers: ReadonlyMap<string, string>;
  /** Express's 'trust proxy' setting (TRUST_PROXY), so that the client's address is the one Express would see. */
  readonly trustProxy: readonly string[];
  readonly bodyLimitBytes: number;
  /** Called once a request is taken, before anything is written (the request logger). */
  readonly taken?: (req: IncomingMessage, res: ServerResponse) => void;
  /** The latency metric, with the route as Express names it. */
  readonly observe: (method: string, route: string, status: number, seconds: number) => void;
  readonly logger: Logger;
}

/** Conditional requests: only Express answers 304. */
const CONDITIONAL = ['if-none-match', 'if-modified-since'];
/** What express.json() parses: JSON, in UTF-8 (the only charset it accepts besides none). */
const JSON_TYPE = /^application\/json\s*(;\s*charset="?utf-8"?\s*)?$/i;
const FIRST_CHARACTER = /^[\x20\x09\x0a\x0d]*(.)/;

interface Pattern {
  readonly route: RouteDefinition;
  readonly method: string;
  readonly expressPath: string;
  /** A literal segment, or null for a parameter. */
  readonly segments: readonly (string | null)[];
  readonly names: readonly string[];
  readonly serve: ReturnType<typeof routeServer>;
}

interface Serialised {
  readonly bytes: Buffer;
  readonly tag: string;
}

/**
 * The API routes served straight from Node's HTTP server, without Express: Express's request
 * and response objects, router, body parser and `res.json` were most of a cached read's CPU
 * and a large share of a write's (docs/BENCHMARKS.md, "Third round: the fast lane").
 *
 * It takes only the plain case: GET, POST, PATCH or DELETE on one of these routes' paths
 * exactly (same case, no percent-encoding, no trailing slash), no conditional headers, and a
 * body, if any, of JSON in UTF-8 without content encoding (chunked or with a Content-Length).
 * Everything else, it leaves untouched for Express, which answers it as before. What it runs
 * is the route's own `routeServer`, the same code Express runs, and what it writes is what
 * Express would (status, headers with the ETag computed the same way, body); a test holds
 * the two side by side.
 *
 * A public GET whose route offers `fromMemory`, sent without a token or with a customer's, is
 * answered in the turn it arrived when the answer is already in memory; its serialised body is kept per answer object, since cached
 * values are immutable and replaced, never changed, when invalidated.
 */
export function fastLane(options: FastLaneOptions): FastLane {
  const { routes, runtime, headers, taken, observe, logger, bodyLimitBytes } = options;
  const trust = proxyaddr.compile([...options.trustProxy]);
  const patterns: Pattern[] = routes.map((route) => {
    if (route.fromMemory && (route.method !== 'get' || route.access !== 'public' || route.rateLimit !== undefined)) {
      throw new Error(`${route.path}: only a public GET without a rate limit can be answered from memory`);
    }
    const parts = route.path.split('/');
    return {
      route,
      method: route.method.toUpperCase(),
      expressPath: expressPathOf(route),
      segments: parts.map((part) => (part.startsWith('{') ? null : part)),
      names: parts.filter((part) => part.startsWith('{')).map((part) => part.slice(1, -1)),
      serve: routeServer(route, runtime),
    };
  });
  const remembered = new WeakMap<object, Serialised>();

  const write = (res: ServerResponse, status: number, { bytes, tag }: Serialised, extra: Readonly<Record<string, string>> | undefined) => {
    res.statusCode = status;
    res.setHeaders(headers as Map<string, string>);
    if (extra) for (const name of Object.keys(extra)) res.setHeader(name, extra[name]);
    // A replayed refusal is the problem it was the first time.
    res.setHeader('Content-Type', status >= 400 ? 'application/problem+json; charset=utf-8' : 'application/json; charset=utf-8');
    res.setHeader('Content-Length', bytes.length);
    res.setHeader('ETag', tag);
    res.end(bytes);
  };

  const fromMemory = (pattern: Pattern, params: unknown, query: unknown): Serialised | undefined => {
    const result = pattern.route.fromMemory!({ params, query, body: undefined, user: undefined, idSeed: undefined, fresh: false });
    if (!result || result.status !== 200 || typeof result.body !== 'object' || result.body === null) return undefined;
    let kept = remembered.get(result.body);
    if (!kept) remembered.set(result.body, (kept = serialise(result.body)));
    return kept;
  };

  return (req, res) => {
    const method = req.method ?? '';
    if (method === 'HEAD' || method === 'OPTIONS') return false;
    for (const name of CONDITIONAL) if (req.headers[name] !== undefined) return false;
    const url = req.url ?? '';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (/[%#]/.test(path)) return false;
    const segments = path.split('/');
    const pattern = patterns.find((candidate) => candidate.method === method && matches(candidate.segments, segments));
    if (!pattern) return false;
    const body = bodyOf(req, bodyLimitBytes);
    if (body === false) return false;

    const started = performance.now();
    const values = segments.filter((_segment, i) => pattern.segments[i] === null);
    const params = pattern.names.length > 0 ? Object.fromEntries(pattern.names.map((name, i) => [name, values[i]])) : {};
    const query = parseQuery(queryAt < 0 ? '' : url.slice(queryAt + 1));
    const finish = (status: number, answer: Serialised, extra?: Readonly<Record<string, string>>) => {
      write(res, status, answer, extra);
      observe(method, pattern.expressPath, status, (performance.now() - started) / 1000);
    };

    // An admin's token may have a recent write to wait for (read-your-writes): routeServer looks.
    if (pattern.route.fromMemory && body === undefined && req.headers['x-consistent-with'] === undefined && !mayWaitForOwnWrites(req.headers.authorization, runtime)) {
      const parsedParams = pattern.route.params ? pattern.route.params.safeParse(params) : undefined;
      const parsedQuery = querySchemaOf(pattern.route).safeParse(query);
      const answer = parsedQuery.success && parsedParams?.success !== false ? fromMemory(pattern, parsedParams?.data, parsedQuery.data) : undefined;
      if (answer) {
        taken?.(req, res);
        finish(200, answer);
        return true;
      }
    }

    taken?.(req, res);
    (body ?? Promise.resolve(undefined))
      .then((parsed) =>
        pattern.serve({
          method,
          path,
          ip: proxyaddr(req, trust),
          header: (name) => req.headers[name] as string | undefined,
          params,
          query,
          body: parsed,
        }),
      )
      .then(({ result, replayed }: { result: RouteResult; replayed: boolean }) =>
        finish(result.status, serialise(result.body), replayed ? { 'Idempotent-Replayed': 'true' } : undefined),
      )
      .catch((error: unknown) => {
        // A client gone mid-body has nobody to answer, and is no failure of ours.
        if (error === ABORTED || res.headersSent) return void res.destroy();
        const { status, body: problem, headers: extra } = problemToAnswer(error, logger, (req as { id?: unknown }).id);
        finish(status, serialise(problem), extra);
      });
    return true;
  };
}

function matches(pattern: readonly (string | null)[], segments: readonly string[]): boolean {
  if (pattern.length !== segments.length) return false;
  for (let i = 0; i < pattern.length; i += 1) {
    const literal = pattern[i];
    if (literal === null ? segments[i] === '' : literal !== segments[i]) return false;
  }
  return true;
}

function serialise(body: unknown): Serialised {
  const bytes = Buffer.from(JSON.stringify(body));
  return { bytes, tag: etag(bytes, { weak: true }) };
}

/**
 * The body as express.json() would parse it: undefined when there is none (nor a JSON
 * Content-Type to parse it by), a promise of the parsed JSON, or false when only Express can
 * take it (compressed, declared over the limit, another media type).
 */
function bodyOf(req: IncomingMessage, limit: number): Promise<unknown> | undefined | false {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (length === undefined && !chunked) return undefined;
  const type = req.headers['content-type'];
  if (type === undefined) return length === '0' && !chunked ? undefined : false;
  if (!JSON_TYPE.test(type) || Number(length ?? 0) > limit) return false;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  return new Promise<unknown>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // A chunked body declares no length: it is refused once it grows past the limit.
      if (received > limit) {
        req.removeAllListeners('data');
        reject(Object.assign(new Error('the body is too large'), { type: 'entity.too.large' }));
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(parseJson(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    req.on('error', () => reject(ABORTED));
    req.on('aborted', () => reject(ABORTED));
  });
}

const ABORTED = new Error('the client went away before its body arrived');

/** express.json() with `strict`: an object or an array, a leading BOM ignored, an empty body is {}. */
function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) return {};
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = FIRST_CHARACTER.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw malformed();
  try {
    return JSON.parse(text);
  } catch {
    throw malformed();
  }
}

/** The error body-parser raises for it, which errorToProblem maps to MALFORMED_JSON. */
const malformed = () => Object.assign(new Error('the body is not valid JSON'), { type: 'entity.parse.failed' });
