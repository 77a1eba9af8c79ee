import 'reflect-metadata';
import type { Logger } from 'pino';
import { compose } from '../src/shared/container/compose';
import { TOKENS } from '../src/shared/container/tokens';
import { configOrExit, onShutdown } from '../src/shared/process';
import { createProjector } from '.';

/** `npm run projector`: runs every projection in its own process, for API instances started with RUN_PROJECTIONS=false. */
async function main() {
  const config = configOrExit();
  const composed = await compose(config);
  const logger = composed.container.get<Logger>(TOKENS.Logger);
  const projector = await createProjector(composed.container.get(TOKENS.EventStore), composed.container.get(TOKENS.Documents), logger, config);
  logger.info({ adapters: composed.adapters, projections: projector.projections.map((p) => p.name) }, 'projector starting');
  projector.start();
  onShutdown(logger, async () => {
    await projector.stop();
    await composed.close();
  });
}

main().catch((error) => {
  process.stderr.write(`projector failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
