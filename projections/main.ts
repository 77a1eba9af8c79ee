import 'reflect-metadata';
import { compose } from '../src/composition/compose';
import { configOrExit, onShutdown } from '../src/shared/process';
import { createProjector } from '.';

/** `npm run projector`: runs every projection in its own process, for API instances started with RUN_PROJECTIONS=false. */
async function main() {
  const config = configOrExit();
  const composed = await compose(config);
  const { logger } = composed;
  const projector = await createProjector(composed.services, logger, 'projector');
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
