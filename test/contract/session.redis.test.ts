import { RedisSessionPositions } from '../../src/shared/session/redis';
import { twoRedisClients } from '../support/redis';
import { sessionContract } from './session.contract';

describe('RedisSessionPositions', () => {
  const { clients, newPrefix } = twoRedisClients('session');

  sessionContract(async (ttlMs) => {
    const prefix = newPrefix();
    return clients().map((client) => new RedisSessionPositions(client, prefix, ttlMs));
  });
});
