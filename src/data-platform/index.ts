import type { Logger } from 'pino';
import type { AppServices } from '../composition/services';
import { DataPlatformClient } from './client';
import { Deliveries } from './deliveries';
import { MockDataPlatform } from './mock-server';
import { DeliveryWorkers } from './workers';

export interface DataPlatform {
  /** Where orders go: DATA_PLATFORM_URL, or the built-in mock this process started. */
  readonly url: string;
  /** Starts the delivery workers and the reconciler (unless DELIVERY_WORKERS=0). */
  start(): void;
  /** Stops them after the deliveries in hand, closes their connections, then the built-in mock if there is one. */
  stop(): Promise<void>;
}

/**
 * The sending side of the outbox. Without DATA_PLATFORM_URL the data platform is the built-in
 * mock (the port's embedded default), on a free local port of this process.
 */
export async function createDataPlatform(services: AppServices, logger: Logger): Promise<DataPlatform> {
  const { config } = services;
  const mock = config.DATA_PLATFORM_URL ? undefined : await MockDataPlatform.start();
  const url = config.DATA_PLATFORM_URL ?? mock!.url;
  if (mock) {
    const log = { url, control: `${url}/_mock` };
    if (config.embedded) logger.info(log, 'no DATA_PLATFORM_URL: orders go to the built-in mock data platform');
    else logger.warn(log, 'no DATA_PLATFORM_URL: orders go to a mock data platform inside this instance');
  }
  const client = new DataPlatformClient(
    url,
    {
      timeoutMs: config.DATA_PLATFORM_TIMEOUT_MS,
      breakerFailures: config.DATA_PLATFORM_BREAKER_FAILURES,
      halfOpenAfterMs: config.DATA_PLATFORM_BREAKER_HALF_OPEN_MS,
    },
    logger,
  );
  const workers = new DeliveryWorkers({
    queue: services.deliveryQueue,
    deliveries: new Deliveries(services.documents, services.clock, config.DATA_PLATFORM_MAX_ATTEMPTS),
    events: services.events,
    client,
    logger,
    settings: {
      workers: config.DELIVERY_WORKERS,
      pollMs: config.DELIVERY_POLL_MS,
      backoffBaseMs: config.DATA_PLATFORM_BACKOFF_BASE_MS,
      backoffMaxMs: config.DATA_PLATFORM_BACKOFF_MAX_MS,
      reconcileMs: config.DATA_PLATFORM_RECONCILE_MS,
      batchBudgetMs: config.DATA_PLATFORM_TIMEOUT_MS,
    },
  });
  return {
    url,
    start() {
      if (config.DELIVERY_WORKERS > 0) workers.start();
    },
    async stop() {
      await workers.stop();
      client.close();
      await mock?.close();
    },
  };
}
