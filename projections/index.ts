import type { Logger } from 'pino';
import { Config } from '../src/shared/config';
import { DocumentStore } from '../src/shared/documents/port';
import { EventStore } from '../src/shared/eventstore/port';
import { balancesProjection } from './balances';
import { pointHistoryProjection } from './point-history';
import { Projection } from './projection';
import { Projector } from './runtime';

/** Every read model the application keeps. */
export const allProjections: readonly Projection[] = [balancesProjection, pointHistoryProjection];

export async function createProjector(events: EventStore, documents: DocumentStore, logger: Logger, config: Config): Promise<Projector> {
  const projector = new Projector(events, documents, allProjections, logger, { pollMs: config.PROJECTION_POLL_MS });
  await projector.init();
  return projector;
}
