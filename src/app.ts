import 'reflect-metadata';
import { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import swaggerUi from 'swagger-ui-express';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { createProjector } from '../projections';
import { ProjectionWaiter } from '../projections/consistency';
import { registerProjectionLag } from '../projections/metrics';
import { Projector } from '../projections/runtime';
import { consoleRouter } from './console/routes';
import { auditRoutes } from './read/audit/routes';
import { couponQueryRoutes } from './read/coupons/routes';
import { dataPlatformAdminRoutes } from './data-platform/routes';
import { ordersQueryRoutes } from './read/orders/routes';
import { pointsQueryRoutes } from './read/points/routes';
import { popularRoutes } from './read/popular/routes';
import { productQueryRoutes } from './read/products/routes';
import { projectionAdminRoutes } from './read/projections/routes';
import type { AppServices } from './composition/services';
import { TokenService } from './shared/auth/tokens';
import { Config } from './shared/config';
import { compose, Composed, Overrides } from './composition/compose';
import { createDataPlatform, DataPlatform } from './data-platform';
import { TOKENS } from './shared/container/tokens';
import { problemMiddleware } from './shared/http/errors';
import { devTokenRoute, documentOperations, operationsRouter } from './shared/http/ops-routes';
import { FastLane, fastLane } from './shared/http/fast-lane';
import { HttpProblem } from './shared/http/problem';
import { mountRoute, RouteDefinition, RouteRuntime } from './shared/http/route';
import { couponRoutes } from './write/coupon/routes';
import { orderRoutes } from './write/order/routes';
import { productRoutes } from './write/product/routes';
import { walletRoutes } from './write/wallet/routes';
import { privacyRoutes } from './write/privacy/routes';
import { AdminJournal } from './shared/auth/admin-journal';
import { OwnWrites } from './shared/session/own-writes';

/**
 * Connections waiting to be accepted. Node's default (511) overflows in a coupon rush, where
 * thousands of clients connect at the same moment: the kernel then drops or, with SYN cookies,
 * resets some of them (seen here as ECONNRESET in a 2,000-client rush test). Linux caps it at
 * net.core.somaxconn (4096 on this machine).
 */
export const LISTEN_BACKLOG = 4096;

export interface Eventmart {
  /** The HTTP server's request listener: the fast lane takes the plain API requests, Express the rest. */
  readonly http: RequestListener;
  /** The part of `http` before Express: takes a request (true) or leaves it untouched (false). */
  readonly fastLane: FastLane;
  /** Every route through Express alone: what `http` does with what the fast lane leaves. */
  readonly express: Express;
  readonly projector: Projector;
  readonly services: AppServices;
  readonly tokens: TokenService;
  readonly composed: Composed;
  readonly openapi: ReturnType<OpenApiGeneratorV31['generateDocument']>;
  readonly routes: readonly RouteDefinition[];
  readonly dataPlatform: DataPlatform;
  /** Starts the projections (unless RUN_PROJECTIONS=false) and the data-platform delivery workers (unless DELIVERY_WORKERS=0) in this process. */
  start(): void;
  close(): Promise<void>;
}

/** Assembles the application: adapters from the configuration, routes, projections, docs. */
export async function createEventmart(config: Config, overrides: Overrides = {}): Promise<Eventmart> {
  const composed = await compose(config, overrides);
  const { container, logger, services } = composed;
  const projector = await createProjector(services, logger, 'api');
  const dataPlatform = await createDataPlatform(services, logger);
  const waiter = new ProjectionWaiter(services.documents, config.CONSISTENCY_WAIT_MS, projector);
  const tokens = new TokenService(composed.jwtSecret, {
    maxTokenAgeSeconds: Math.round(config.JWT_MAX_TOKEN_AGE_HOURS * 3600),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
  });

  if (config.devTokens) {
    logger.warn(
      `dev tokens are on: POST /auth/dev-token mints a token for any user and role, ${config.AUTH_DEV_TOKENS_REMOTE ? 'for ANY client that can reach this server' : 'for clients on this machine'} (AUTH_DEV_TOKENS=false turns it off)`,
    );
  }
  const routes: RouteDefinition[] = [
    ...walletRoutes(services),
    ...pointsQueryRoutes(services),
    ...productRoutes(services),
    // Before /products/{id}, which would otherwise take "popular" for an id.
    ...popularRoutes(services),
    ...productQueryRoutes(services),
    ...couponRoutes(services),
    ...couponQueryRoutes(services),
    ...orderRoutes(services),
    ...ordersQueryRoutes(services),
    ...projectionAdminRoutes(projector),
    ...auditRoutes(services),
    ...dataPlatformAdminRoutes(services),
    ...privacyRoutes(services),
    ...(config.devTokens ? [devTokenRoute(tokens, config.AUTH_DEV_TOKENS_REMOTE)] : []),
  ];
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const runtime: RouteRuntime = {
    config,
    tokens,
    idempotency: container.get(TOKENS.Idempotency),
    rateLimits: services.rateLimits,
    adminJournal: new AdminJournal(services.events, services.clock),
    logger,
    waitForProjections: (names, position) => waiter.waitFor(names, position),
    ownWrites: new OwnWrites(services.sessions, () => services.events.headPosition(), logger, config.SESSION_POSITION_TTL_MS, metrics),
  };

  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  documentOperations(registry);
  const api = express.Router();
  for (const route of routes) mountRoute(api, registry, route, runtime);
  const openapi = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Eventmart',
      version: '0.1.0',
      license: { name: 'MIT', identifier: 'MIT' },
      contact: { name: 'Eventmart maintainers' },
      description:
        'Event-sourced commerce: points, products, coupons, orders. Errors are RFC 9457 problem+json with a stable `code`. ' +
        'Reads are session-consistent per user: a read of your own data, sent with your token, reflects every write you had answered before it, on any instance ' +
        '(it waits up to CONSISTENCY_WAIT_MS, then 503 CONSISTENCY_TIMEOUT), and an admin\'s public reads reflect the admin\'s own writes. ' +
        'Not guaranteed: other users\' writes, and what a customer\'s orders change in public data (stock, ranking), which appear once projected. ' +
        (config.devTokens ? 'Get a token from POST /auth/dev-token, then press Authorize.' : ''),
    },
    // Relative: the document is served by the API it describes, at whatever address that is reached.
    servers: [{ url: '/', description: 'The server that serves this document' }],
  });

  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics],
  });
  registerProjectionLag(projector, metrics);

  // Request logs are info level: below it, pino-http would run on every request to log nothing
  // (docs/BENCHMARKS.md, "Per-request middleware").
  const requestLog = logger.isLevelEnabled('info')
    ? pinoHttp({
        logger,
        autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
        // pino-http makes up an error with a stack for every 5xx; the failure itself is logged where it is answered (src/shared/http/errors.ts).
        customErrorObject: (_req, _res, _error, { err: _made, ...line }: Record<string, unknown>) => line,
      })
    : undefined;
  const securityHeaders = fixedHeaders(helmet());
  const fast = fastLane({
    routes,
    runtime,
    headers: securityHeaders,
    trustProxy: config.TRUST_PROXY,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    taken: requestLog,
    observe: (method, route, status, seconds) => latency.observe({ method, route, status: String(status) }, seconds),
    logger,
  });

  const http = express();
  http.disable('x-powered-by');
  // Clients' addresses (rate limits, idempotency scopes) come from X-Forwarded-For only when a trusted proxy sent it.
  http.set('trust proxy', config.TRUST_PROXY);
  if (requestLog) http.use(requestLog);
  http.use((req, res, next) => {
    const end = latency.startTimer({ method: req.method });
    res.on('finish', () => end({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  });
  // Swagger UI ships inline bootstrapping, so it gets a looser policy than the API.
  http.use('/docs', helmet({ contentSecurityPolicy: false }), swaggerUi.serve, swaggerUi.setup(openapi, { swaggerOptions: { persistAuthorization: true, displayOperationId: true } }));
  http.use((_req, res, next) => {
    res.setHeaders(securityHeaders);
    next();
  });
  http.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  http.use(operationsRouter(composed.readiness, metrics));
  http.use('/console', consoleRouter());
  http.use(express.json({ limit: config.BODY_LIMIT_BYTES, strict: true }));
  http.use(api);
  http.use((req) => {
    throw new HttpProblem(404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`);
  });
  http.use(problemMiddleware(logger));

  return {
    http: config.FAST_LANE
      ? (req, res) => {
          if (!fast(req, res)) http(req, res);
        }
      : http,
    fastLane: fast,
    express: http,
    projector,
    services,
    tokens,
    composed,
    openapi,
    routes,
    dataPlatform,
    start() {
      if (config.RUN_PROJECTIONS) projector.start();
      dataPlatform.start();
    },
    async close() {
      await projector.stop();
      await dataPlatform.stop();
      await composed.close();
    },
  };
}

/**
 * Helmet's headers, worked out once: with its default options they are the same for every
 * request, so running its chain of a dozen middlewares on each would be work for nothing
 * (docs/BENCHMARKS.md, "Per-request middleware"). It also removes X-Powered-By, which no
 * response of ours sets.
 */
function fixedHeaders(middleware: (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void): Map<string, string> {
  const headers = new Map<string, string>();
  const recorder = { setHeader: (name: string, value: string) => headers.set(name, value), removeHeader: () => undefined };
  let failure: unknown;
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error) => (failure = error));
  if (failure) throw failure;
  return headers;
}
