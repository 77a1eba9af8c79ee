import { twoRedisClients } from '../support/redis';
import { RedisIdempotencyStore } from '../../src/shared/idempotency/redis';
import { idempotencyContract } from './idempotency.contract';

describe('RedisIdempotencyStore, two app instances on one Redis', () => {
  // Two clients per test, as two app instances would have.
  const { clients, newPrefix } = twoRedisClients('idem');

  idempotencyContract(async () => {
    const prefix = newPrefix();
    return clients().map((client) => new RedisIdempotencyStore(client, prefix));
  }, 2);
});
