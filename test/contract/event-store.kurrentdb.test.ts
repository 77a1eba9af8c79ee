import { GenericContainer, Wait } from 'testcontainers';
import { KurrentDbEventStore } from '../../src/shared/eventstore/kurrentdb';
import { describeExternal } from '../support/external';
import { KURRENTDB_IMAGE } from '../support/images';
import { eventStoreContract } from './event-store.contract';

const PORT = 2113;

describeExternal(
  {
    name: 'KurrentDB event store',
    envVar: 'EVENTSTORE_URL',
    startContainer: async () => {
      const container = await new GenericContainer(KURRENTDB_IMAGE)
        .withEnvironment({
          KURRENTDB_INSECURE: 'true',
          KURRENTDB_RUN_PROJECTIONS: 'All',
          KURRENTDB_ENABLE_ATOM_PUB_OVER_HTTP: 'true',
        })
        .withExposedPorts(PORT)
        .withWaitStrategy(Wait.forHttp('/health/live', PORT))
        .withStartupTimeout(120_000)
        .start();
      return {
        url: `kurrentdb://${container.getHost()}:${container.getMappedPort(PORT)}?tls=false`,
        stop: async () => {
          await container.stop();
        },
      };
    },
  },
  (server) => {
    // The suite names its streams with a random suffix, so one server serves every test.
    eventStoreContract(async () => new KurrentDbEventStore(server().url));
  },
);
