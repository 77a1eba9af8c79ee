import { InProcessCouponGate } from '../../src/write/coupon/gate/memory';
import { gateContract, LEASE_MS } from './gate.contract';

describe('InProcessCouponGate', () => {
  gateContract(async (now) => [new InProcessCouponGate({ now, leaseMs: LEASE_MS })]);

  it('forgets the least recently used coupon past its bound, which is then seeded again', async () => {
    const gate = new InProcessCouponGate({ maxCoupons: 2 });
    for (const coupon of ['a', 'b', 'c']) await gate.seed(coupon, { totalQuantity: 1, holders: [] });
    expect(await gate.admit('a', 'u1')).toBe('unknown');
    expect(await gate.admit('c', 'u1')).toBe('admitted');
  });
});
