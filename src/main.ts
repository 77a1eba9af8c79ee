import 'reflect-metadata';
import { createServer } from 'node:http';
import { createEventmart, LISTEN_BACKLOG } from './app';
import { configOrExit, onShutdown } from './shared/process';

async function main() {
  const config = configOrExit();
  const app = await createEventmart(config);
  const { logger } = app.composed;
  logger.info(
    { adapters: app.composed.adapters, dataDir: config.embedded ? config.DATA_DIR : undefined, projections: config.RUN_PROJECTIONS ? 'in this process' : 'elsewhere' },
    config.embedded ? 'starting embedded (no EVENTSTORE_URL or DATABASE_URL)' : 'starting against servers',
  );
  app.start();
  const server = createServer(app.http).listen(config.PORT, config.HOST, LISTEN_BACKLOG, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    // A wildcard address is reached as localhost from this machine; any other is reached by itself.
    const host = ['0.0.0.0', '::'].includes(config.HOST) ? 'localhost' : config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
    logger.info({ host: config.HOST, url: `http://${host}:${port}`, docs: `http://${host}:${port}/docs` }, 'listening');
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

main().catch((error) => {
  process.stderr.write(`Eventmart failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
