/**
 * The coupon gate port's contract. `make` returns one or more gates over one backend (two app
 * instances against one Redis) sharing the given clock; callers are spread across them.
 * Coupon ids carry a random suffix so a shared server can be reused.
 */
import { randomUUID } from 'node:crypto';
import { Admission, CouponGate } from '../../src/write/coupon/gate/port';

export interface GateClock {
  now: number;
}

export const LEASE_MS = 1_000;

export function gateContract(make: (clock: () => number) => Promise<readonly CouponGate[]>): void {
  const clock: GateClock = { now: 1_700_000_000_000 };
  let gates: readonly CouponGate[];
  let gate: CouponGate;
  let other: CouponGate;
  let coupon: string;

  beforeEach(async () => {
    gates = await make(() => clock.now);
    [gate] = gates;
    other = gates[gates.length - 1];
    coupon = `coupon-${randomUUID()}`;
  });
  afterEach(async () => {
    await Promise.all(gates.map((g) => g.close()));
  });

  const count = (admissions: Admission[]) =>
    admissions.reduce<Record<string, number>>((counts, a) => ({ ...counts, [a]: (counts[a] ?? 0) + 1 }), {});

  it('knows nothing of a coupon until it is seeded', async () => {
    expect(await gate.admit(coupon, 'u1')).toBe('unknown');
    await gate.seed(coupon, { totalQuantity: 1, holders: [] });
    expect(await other.admit(coupon, 'u1')).toBe('admitted');
  });

  it('admits up to the quantity left by the holders, then says sold out', async () => {
    await gate.seed(coupon, { totalQuantity: 3, holders: ['h1'] });
    expect(await gate.admit(coupon, 'u1')).toBe('admitted');
    expect(await other.admit(coupon, 'u2')).toBe('admitted');
    expect(await gate.admit(coupon, 'u3')).toBe('sold_out');
  });

  it('turns away holders and users already admitted', async () => {
    await gate.seed(coupon, { totalQuantity: 10, holders: ['h1'] });
    expect(await gate.admit(coupon, 'h1')).toBe('already_issued');
    expect(await gate.admit(coupon, 'u1')).toBe('admitted');
    expect(await other.admit(coupon, 'u1')).toBe('already_issued');
    await gate.confirm(coupon, 'u1');
    expect(await other.admit(coupon, 'u1')).toBe('already_issued');
  });

  it('says already issued rather than sold out to a holder', async () => {
    await gate.seed(coupon, { totalQuantity: 1, holders: ['h1'] });
    expect(await gate.admit(coupon, 'h1')).toBe('already_issued');
    expect(await gate.admit(coupon, 'u1')).toBe('sold_out');
  });

  it('gives a released place back, and keeps a confirmed one', async () => {
    await gate.seed(coupon, { totalQuantity: 2, holders: [] });
    expect(await gate.admit(coupon, 'u1')).toBe('admitted');
    expect(await gate.admit(coupon, 'u2')).toBe('admitted');
    await other.release(coupon, 'u1');
    await other.confirm(coupon, 'u2');
    expect(await gate.admit(coupon, 'u3')).toBe('admitted');
    expect(await gate.admit(coupon, 'u1')).toBe('sold_out');
  });

  it('refuses everyone once marked sold out, and frees that user', async () => {
    await gate.seed(coupon, { totalQuantity: 100, holders: ['h1'] });
    expect(await gate.admit(coupon, 'u1')).toBe('admitted');
    await other.markSoldOut(coupon, 'u1');
    expect(await gate.admit(coupon, 'u2')).toBe('sold_out');
    expect(await gate.admit(coupon, 'u1')).toBe('sold_out');
    expect(await gate.admit(coupon, 'h1')).toBe('already_issued');
  });

  it('frees an admitted place whose lease ran out', async () => {
    await gate.seed(coupon, { totalQuantity: 1, holders: [] });
    expect(await gate.admit(coupon, 'u1')).toBe('admitted');
    clock.now += LEASE_MS - 1;
    expect(await other.admit(coupon, 'u2')).toBe('sold_out');
    clock.now += 1;
    expect(await other.admit(coupon, 'u2')).toBe('admitted');
    expect(await gate.admit(coupon, 'u1')).toBe('sold_out');
  });

  it('keeps the first seed: a later one cannot drop admissions the log does not show yet', async () => {
    await gate.seed(coupon, { totalQuantity: 2, holders: [] });
    expect(await gate.admit(coupon, 'u1')).toBe('admitted');
    await other.seed(coupon, { totalQuantity: 2, holders: [] });
    expect(await gate.admit(coupon, 'u2')).toBe('admitted');
    expect(await gate.admit(coupon, 'u3')).toBe('sold_out');
  });

  it('does nothing for a coupon it does not know', async () => {
    await gate.confirm(coupon, 'u1');
    await gate.release(coupon, 'u1');
    await gate.markSoldOut(coupon, 'u1');
    expect(await gate.admit(coupon, 'u1')).toBe('unknown');
    await gate.seed(coupon, { totalQuantity: 1, holders: [] });
    expect(await gate.admit(coupon, 'u1')).toBe('admitted');
  });

  it('seeds many holders', async () => {
    const holders = Array.from({ length: 12_345 }, (_, i) => `holder-${i}`);
    await gate.seed(coupon, { totalQuantity: 12_346, holders: holders.values() });
    expect(await gate.admit(coupon, 'holder-12344')).toBe('already_issued');
    expect(await gate.admit(coupon, 'new')).toBe('admitted');
    expect(await gate.admit(coupon, 'newer')).toBe('sold_out');
  });

  it('admits exactly the quantity of 1,000 concurrent distinct users, and one place per user', async () => {
    await gate.seed(coupon, { totalQuantity: 100, holders: [] });
    const distinct = await Promise.all(Array.from({ length: 1_000 }, (_, i) => gates[i % gates.length].admit(coupon, `u${i}`)));
    expect(count(distinct)).toEqual({ admitted: 100, sold_out: 900 });

    const second = `${coupon}-same-user`;
    await gate.seed(second, { totalQuantity: 100, holders: [] });
    const same = await Promise.all(Array.from({ length: 50 }, (_, i) => gates[i % gates.length].admit(second, 'one')));
    expect(count(same)).toEqual({ admitted: 1, already_issued: 49 });
  });

  it('keeps coupons apart', async () => {
    await gate.seed(coupon, { totalQuantity: 1, holders: [] });
    await gate.seed(`${coupon}-b`, { totalQuantity: 1, holders: [] });
    expect(await gate.admit(coupon, 'u1')).toBe('admitted');
    expect(await gate.admit(`${coupon}-b`, 'u1')).toBe('admitted');
  });
}
