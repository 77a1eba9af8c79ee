import { Redis } from 'ioredis';
import { RedisCouponGate } from '../../src/write/coupon/gate/redis';
import { deleteKeys, twoRedisClients } from '../support/redis';
import { gateContract, LEASE_MS } from './gate.contract';

describe('RedisCouponGate', () => {
  // Two clients per test, as two app instances would have.
  const { clients, newPrefix } = twoRedisClients('gate');

  gateContract(async (now) => {
    const prefix = newPrefix();
    return clients().map((client) => new RedisCouponGate(client, prefix, { now, leaseMs: LEASE_MS }));
  });

  it('keeps a coupon in one key, so that it is lost or kept whole, and leaves no staging key behind', async () => {
    const prefix = newPrefix();
    const gate = new RedisCouponGate(clients()[0], prefix);
    await gate.seed('c1', { totalQuantity: 5, holders: ['h1', 'h2'] });
    await gate.admit('c1', 'u1');
    await gate.markSoldOut('c1', 'u2');
    expect(await clients()[0].keys(`${prefix}*`)).toEqual([`${prefix}{c1}`]);
  });

  it('seeds again once its keys are gone, as after a flush', async () => {
    const prefix = newPrefix();
    const gate = new RedisCouponGate(clients()[0], prefix);
    await gate.seed('c1', { totalQuantity: 2, holders: ['h1'] });
    expect(await gate.admit('c1', 'u1')).toBe('admitted');
    await deleteKeys(clients()[0], prefix);
    expect(await gate.admit('c1', 'u2')).toBe('unknown');
    await gate.seed('c1', { totalQuantity: 2, holders: ['h1', 'u1'] });
    expect(await gate.admit('c1', 'u2')).toBe('sold_out');
  });

  it('fails (so callers skip it) when Redis refuses the command', async () => {
    // Nothing listens on port 1; disconnectTimeout keeps ioredis from holding jest open.
    const down = new Redis({ host: '127.0.0.1', port: 1, enableOfflineQueue: false, disconnectTimeout: 10 });
    down.on('error', () => undefined);
    try {
      await expect(new RedisCouponGate(down, 'test:gate:down:').admit('c1', 'u1')).rejects.toThrow();
    } finally {
      down.disconnect();
    }
  });
});
