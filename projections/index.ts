import type { Logger } from 'pino';
import { AppServices } from '../src/shared/app/services';
import { balancesProjection } from './balances';
import { pointHistoryProjection } from './point-history';
import { Projection } from './projection';
import { Projector } from './runtime';

/** Every read model the application keeps (a projection that needs a service takes it here). */
export const allProjections = (_services: AppServices): readonly Projection[] => [balancesProjection, pointHistoryProjection];

export async function createProjector(services: AppServices, logger: Logger): Promise<Projector> {
  const projector = new Projector(services.events, services.documents, allProjections(services), logger, {
    pollMs: services.config.PROJECTION_POLL_MS,
  });
  await projector.init();
  return projector;
}
