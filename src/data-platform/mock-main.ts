import pino from 'pino';
import { z } from 'zod';
import { onShutdown } from '../shared/process';
import { MOCK_MODES, MockDataPlatform } from './mock-server';

/**
 * The mock data platform on its own, for a set-up where several API instances share one:
 *   npm run build && PORT=4010 node dist/src/data-platform/mock-main.js
 * then start the API with DATA_PLATFORM_URL=http://localhost:4010.
 */
const env = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(4010),
    HOST: z.string().min(1).default('127.0.0.1'),
    MOCK_MODE: z.enum(MOCK_MODES).default('up'),
  })
  .parse(process.env);

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
