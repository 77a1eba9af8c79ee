import { GenericContainer, Wait } from 'testcontainers';
import { MongoDataKeyStore } from '../../src/shared/keys/mongo';
import { describeExternal } from '../support/external';
import { MONGO_IMAGE } from '../support/images';
import { dataKeyStoreContract } from './keys.contract';

describeExternal(
  {
    name: 'MongoDB data key store',
    envVar: 'MONGODB_URL',
    startContainer: async () => {
      // A standalone server is enough: the store needs no transactions.
      const container = await new GenericContainer(MONGO_IMAGE).withExposedPorts(27017).withWaitStrategy(Wait.forLogMessage(/Waiting for connections/)).start();
      return {
        url: `mongodb://${container.getHost()}:${container.getMappedPort(27017)}/eventmart_keys_contract?directConnection=true`,
        stop: async () => {
          await container.stop();
        },
      };
    },
  },
  (server) => {
    dataKeyStoreContract(async () => Promise.all([MongoDataKeyStore.connect(server().url), MongoDataKeyStore.connect(server().url)]));
  },
);
