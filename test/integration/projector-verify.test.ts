import { randomUUID } from 'node:crypto';
import { formatReport, verify } from '../../src/operations/verify';
import { BALANCES } from '../../projections/balances';
import { PRODUCTS } from '../../projections/products';
import { bearer, startTestApp, TestApp } from '../support/app';

/** `npm run verify`'s checks on a small shop: silent when all is well, and naming what differs when not. */
describe('verify', () => {
  let t: TestApp;
  let productId: string;
  beforeAll(async () => {
    t = await startTestApp();
    const admin = await t.tokenFor('admin', 'admin');
    productId = (await t.http().post('/admin/products').set(bearer(admin)).send({ name: 'Mug', price: 1000, stock: 3 })).body.id;
    const token = await t.tokenFor('buyer');
    await t.http().post('/me/points/charge').set(bearer(token)).send({ amount: 5000 });
    const paid = await t.http().post('/checkout').set(bearer(token)).send({ items: [{ productId, quantity: 2 }] });
    expect(paid.status).toBe(201);
    await t.app.projector.catchUp();
  });
  afterAll(async () => t.close());

  it('finds nothing wrong in a sound log and its read models', async () => {
    const report = await verify(t.app.services);
    expect(formatReport(report)).toContain('verified: the read models and the ranking agree with the log');
    expect(report.ok).toBe(true);
    expect(report.readModels.map((r) => r.projection)).toEqual(t.app.projector.projections.map((p) => p.name));
  });

  it('names a read-model document that differs from a replay, and one that should not be there', async () => {
    const { documents } = t.app.services;
    const balance = (await documents.get(BALANCES, 'buyer'))!;
    const product = (await documents.get(PRODUCTS, productId))!;
    await documents.write([
      { kind: 'upsert', collection: BALANCES, doc: { ...balance, balance: 999_999 } },
      { kind: 'upsert', collection: BALANCES, doc: { ...balance, id: 'ghost', userId: 'ghost' } },
    ]);
    try {
      const report = await verify(t.app.services);
      expect(report.ok).toBe(false);
      const balances = report.readModels.find((r) => r.projection === BALANCES)!;
      expect(balances.differences).toEqual([
        expect.stringMatching(/^balances\/buyer: read model .*999999.*, replay .*"balance":3000/),
        expect.stringMatching(/^balances\/ghost: in the read model, not in the replay/),
      ]);
      expect(formatReport(report)).toMatch(/FAIL read model balances .*2 differ/);
    } finally {
      await documents.write([{ kind: 'upsert', collection: BALANCES, doc: balance }, { kind: 'delete', collection: BALANCES, id: 'ghost' }]);
    }
    expect((await verify(t.app.services)).ok).toBe(true);
    expect(product).toMatchObject({ stock: 1 });
  });

  it('names events that break an invariant, even though no decider would write them', async () => {
    const { events } = t.app.services;
    const append = (stream: string, type: string, data: Record<string, unknown>) => events.append([{ stream, expectedRevision: 'any', events: [{ id: randomUUID(), type, data }] }]);
    const user = `overdrawn-${randomUUID().slice(0, 8)}`;
    await append(`wallet-${user}`, 'PointsCharged', { userId: user, amount: 100, balanceAfter: 100, occurredAt: new Date().toISOString() });
    await append(`wallet-${user}`, 'PointsUsed', { userId: user, amount: 300, orderId: 'no-such-order', balanceAfter: -200, occurredAt: new Date().toISOString() });
    const report = await verify(t.app.services);
    expect(report.log.problems).toEqual([
      `wallet-${user}@1 PointsUsed: balance -200 is negative`,
      'order no-such-order: stock, points or coupon moved for an order that was never placed',
    ]);
    expect(formatReport(report)).toContain('FAIL log');
  });
});
