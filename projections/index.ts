import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { AppServices } from '../src/composition/services';
import { balancesProjection } from './balances';
import { couponsProjection } from './coupons';
import { dataPlatformOutboxProjection } from './data-platform-outbox';
import { dailySalesProjection } from './daily-sales';
import { ordersProjection } from './orders';
import { pointHistoryProjection } from './point-history';
import { productsProjection } from './products';
import { stockHistoryProjection } from './stock-history';
import { userCouponsProjection } from './user-coupons';
import { Projection } from './projection';
import { Projector } from './runtime';

/** Every read model the application keeps (a projection that needs a service takes it here). */
export const allProjections = (services: AppServices): readonly Projection[] => [
  balancesProjection,
  pointHistoryProjection,
  productsProjection(services.cache),
  stockHistoryProjection,
  couponsProjection,
  userCouponsProjection,
  ordersProjection,
  dailySalesProjection(services.documents, services.ranking, services.config.POPULAR_TIMEZONE),
  dataPlatformOutboxProjection(services.deliveryQueue, services.logger),
];

/** Names this process in the leases it holds, so an operator can tell which process runs what. */
const leaseOwner = () => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

export async function createProjector(services: AppServices, logger: Logger): Promise<Projector> {
  const projector = new Projector(services.events, services.documents, allProjections(services), logger, {
    pollMs: services.config.PROJECTION_POLL_MS,
    lease: { service: services.leases, ttlMs: services.config.PROJECTION_LEASE_MS, owner: leaseOwner() },
  });
  await projector.init();
  return projector;
}
