import type { Logger } from 'pino';
import { Config, ConfigError, loadConfig } from './config';

/** Reads the configuration or stops the process with the reasons, before anything starts. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`Eventmart cannot start: ${error.message}\n`);
    process.exit(1);
  }
}

/** SIGTERM/SIGINT: stop taking work, finish what is in flight, close the stores, exit. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop()
      .then(() => process.exit(0))
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => handler('SIGTERM'));
  process.once('SIGINT', () => handler('SIGINT'));
}
