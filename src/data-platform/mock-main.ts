import pino from 'pino';
import { onShutdown } from '../shared/process';
import { MockDataPlatform, mockSettings } from './mock-server';

/**
 * The mock data platform on its own, for a set-up where several API instances share one:
 *   npm run build && PORT=4010 node dist/src/data-platform/mock-main.js
 * then start the API with DATA_PLATFORM_URL=http://localhost:4010.
 */
const env = mockSettings.parse(process.env);

async function main() {
  const logger = pino({ name: 'mock-data-platform' });
  const mock = await MockDataPlatform.start({ port: env.PORT, host: env.HOST, mode: env.MOCK_MODE });
  logger.info({ url: mock.url, mode: env.MOCK_MODE, control: `${mock.url}/_mock` }, 'mock data platform listening');
  onShutdown(logger, () => mock.close());
}

main().catch((error) => {
  process.stderr.write(`mock data platform failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
