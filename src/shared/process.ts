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

/**
 * SIGTERM/SIGINT: stop taking work, finish what is in flight, close the stores, exit 0. A stop
 * that takes longer than `graceMs` (something hung) exits 1 instead of leaving the process to
 * the supervisor's SIGKILL. A second signal changes nothing: the stop is already under way.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, graceMs = 30_000): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ graceMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, graceMs).unref();
    stop()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
