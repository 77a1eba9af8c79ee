import { Redis } from 'ioredis';
import { RedisLeaseService } from '../../src/shared/lease/redis';
import { twoRedisClients } from '../support/redis';
import { leaseContract } from './lease.contract';

describe('RedisLeaseService', () => {
  const { clients, newPrefix } = twoRedisClients('lease');

  leaseContract(async () => {
    const prefix = newPrefix();
    return clients().map((client) => new RedisLeaseService(client, prefix));
  });

  it('throws when Redis is unreachable, so the runner can tell "not mine" from "cannot know"', async () => {
    // Nothing listens on port 1; disconnectTimeout keeps ioredis from holding jest open.
    const down = new Redis({ host: '127.0.0.1', port: 1, enableOfflineQueue: false, disconnectTimeout: 10 });
    down.on('error', () => undefined);
    try {
      await expect(new RedisLeaseService(down, 'test:lease:down:').acquire('p', 'a', 1000)).rejects.toThrow();
    } finally {
      down.disconnect();
    }
  });
});
