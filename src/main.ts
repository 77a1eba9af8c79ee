import 'reflect-metadata';
import { createServer } from 'node:http';
import { createEventmart, LISTEN_BACKLOG } from './app';
import { configOrExit, onShutdown } from './shared/process';

async function main() {
  const config = configOrExit();
  const app = await createEventmart(config);
  const { logger, adapters } = app.composed;
  const projections = config.RUN_PROJECTIONS ? 'in this process' : 'elsewhere';
  // `startup` holds the fields for machines; the messages say the same for a person (pretty logs leave it out).
  logger.info(
    { startup: { adapters, dataDir: config.embedded ? config.DATA_DIR : undefined, projections } },
    `starting ${config.embedded ? `embedded (no EVENTSTORE_URL or DATABASE_URL), data in ${config.DATA_DIR}` : 'against servers'}; projections run ${projections}`,
  );
  logger.info({ startup: { adapters } }, `ports served by: ${describeAdapters(adapters)}`);
  app.start();
  const server = createServer(app.http).listen(config.PORT, config.HOST, LISTEN_BACKLOG, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    // A wildcard address is reached as localhost from this machine; any other is reached by itself.
    const host = ['0.0.0.0', '::'].includes(config.HOST) ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
    const url = `http://${host}:${port}`;
    logger.info(
      { startup: { host: config.HOST, url, docs: `${url}/docs`, console: `${url}/console` } },
      `listening on ${url}: API docs and try-it at ${url}/docs, operator's console at ${url}/console`,
    );
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  let stopping = false;
  // Runs before the app: a keep-alive client is told, on the response in flight, not to send more on this connection.
  server.prependListener('request', (_req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
  });
  onShutdown(
    logger,
    async () => {
      stopping = true;
      // Stops listening (new connections are refused) and waits for every request in flight;
      // idle keep-alive connections are closed at once.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Projections stop at a checkpoint and hand their leases over, then the stores close.
      await app.close();
    },
    server.requestTimeout + 5_000,
  );
}

/** "sqlite: eventStore, documents; redis: locks" - each adapter with the ports it serves. */
function describeAdapters(adapters: Readonly<Record<string, string>>): string {
  const ports = new Map<string, string[]>();
  for (const [port, adapter] of Object.entries(adapters)) ports.set(adapter, [...(ports.get(adapter) ?? []), port]);
  return [...ports].map(([adapter, served]) => `${adapter}: ${served.join(', ')}`).join('; ');
}

main().catch((error) => {
  process.stderr.write(`Eventmart failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
