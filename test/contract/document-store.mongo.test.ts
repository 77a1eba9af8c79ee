import { GenericContainer, Wait } from 'testcontainers';
import { MongoDocumentStore } from '../../src/shared/documents/mongo';
import { describeExternal } from '../support/external';
import { MONGO_IMAGE } from '../support/images';
import { documentStoreContract } from './document-store.contract';

// Transactions need a replica set: a single-member one, reached directly because the member's
// advertised address (inside the container) is not the mapped port the tests see.
const INITIATE = `
  rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'localhost:27017' }] });
  while (!db.hello().isWritablePrimary) sleep(100);
`;

describeExternal(
  {
    name: 'MongoDB document store',
    envVar: 'MONGODB_URL',
    startContainer: async () => {
      const container = await new GenericContainer(MONGO_IMAGE)
        .withCommand(['--replSet', 'rs0', '--bind_ip_all'])
        .withExposedPorts(27017)
        .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
        .start();
      const init = await container.exec(['mongosh', '--quiet', '--eval', INITIATE]);
      if (init.exitCode !== 0) {
        await container.stop();
        throw new Error(`rs.initiate failed: ${init.output}`);
      }
      const address = `${container.getHost()}:${container.getMappedPort(27017)}`;
      return {
        url: `mongodb://${address}/eventmart_contract?directConnection=true`,
        stop: async () => {
          await container.stop();
        },
      };
    },
  },
  (server) => {
    documentStoreContract(() => MongoDocumentStore.connect(server().url));
  },
);
