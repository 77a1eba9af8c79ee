import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppServices } from '../src/composition/services';
import { instanceIdOf, Program } from '../src/shared/config';
import { balancesProjection } from './balances';
import { couponsProjection } from './coupons';
import { dataPlatformOutboxProjection } from './data-platform-outbox';
import { dailySalesProjection } from './daily-sales';
import { ordersProjection } from './orders';
import { productsProjection } from './products';
import { userCouponsProjection } from './user-coupons';
import { Projection } from './projection';
import { Projector } from './runtime';

/** Every read model the application keeps (a projection that needs a service takes it here). */
export const allProjections = (services: AppServices): readonly Projection[] => [
  balancesProjection,
  productsProjection(services.cache),
  couponsProjection,
  userCouponsProjection,
  ordersProjection,
  dailySalesProjection(services.documents, services.ranking, services.config.POPULAR_TIMEZONE),
  dataPlatformOutboxProjection(services.deliveryQueue, services.logger),
];

/**
 * Names this life of this instance in the leases it holds: `<instance>|<pid>:<random>`, so an
 * operator can tell which process runs what, and a restart of the instance (a new pid) knows
 * the leases of its earlier life by the prefix up to `|`.
 */
const leaseOwner = (instanceId: string) => `${instanceId}|${process.pid}:${randomUUID().slice(0, 8)}`;

export async function createProjector(services: AppServices, logger: Logger, program: Program): Promise<Projector> {
  const instanceId = instanceIdOf(services.config, program);
  const projector = new Projector(services.events, services.documents, allProjections(services), logger, {
    pollMs: services.config.PROJECTION_POLL_MS,
    batchSize: services.config.PROJECTION_BATCH_SIZE,
    lease: { service: services.leases, ttlMs: services.config.PROJECTION_LEASE_MS, owner: leaseOwner(instanceId), takeOverFrom: `${instanceId}|` },
  });
  await projector.init();
  return projector;
}
