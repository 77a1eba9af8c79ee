import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { DATA_PLATFORM_DELIVERIES, dataPlatformOutboxProjection, DeliveryDoc } from '../../projections/data-platform-outbox';
import { Projection } from '../../projections/projection';
import { Projector } from '../../projections/runtime';
import { MasterKeyRing } from '../../src/shared/crypto/master-keys';
import { PayerCipher } from '../../src/shared/crypto/payer';
import { Deliveries } from '../../src/data-platform/deliveries';
import { orderPayload } from '../../src/data-platform/payload';
import { requeuePending } from '../../src/data-platform/workers';
import { SqliteDocumentStore } from '../../src/shared/documents/sqlite';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { DataKeys } from '../../src/shared/keys/data-keys';
import { SqliteDataKeyStore } from '../../src/shared/keys/sqlite';
import { Queue } from '../../src/shared/queue/port';
import { SqliteQueue } from '../../src/shared/queue/sqlite';
import { deliveryIds, LINES, PAYER, seedOrder, SeededOrder } from './data-platform.support';

const logger = pino({ level: 'silent' });
const payers = new PayerCipher(new DataKeys(new SqliteDataKeyStore(':memory:'), new MasterKeyRing(randomBytes(32))));
const clock = { now: () => new Date('2025-02-01T00:00:00.000Z') };

describe('data-platform outbox', () => {
  let events: SqliteEventStore;
  let documents: SqliteDocumentStore;
  let queue: SqliteQueue;
  let deliveries: Deliveries;

  const projectorWith = async (projection: Projection) => {
    const projector = new Projector(events, documents, [projection], logger, { batchSize: 4 });
    await projector.init();
    return projector;
  };

  beforeEach(() => {
    events = new SqliteEventStore(':memory:');
    documents = new SqliteDocumentStore(':memory:');
    queue = new SqliteQueue(':memory:', 'data-platform', { leaseMs: 60_000 });
    deliveries = new Deliveries(documents, clock, 3);
  });
  afterEach(async () => {
    await Promise.all([events.close(), documents.close(), queue.close()]);
  });

  /** Paid then cancelled, placed only, cancelled unpaid, paid after a failed attempt. */
  const seedMix = async () => {
    const refunded = await seedOrder(events, payers, 'u1', { failedPayment: true, paid: true, cancelled: true, coupon: true });
    const placedOnly = await seedOrder(events, payers, 'u2', {});
    const abandoned = await seedOrder(events, payers, 'u3', { cancelled: true });
    const paid = await seedOrder(events, payers, 'u1', { failedPayment: true, paid: true });
    return { refunded, placedOnly, abandoned, paid };
  };

  it('records one PENDING delivery per OrderPaid and OrderCancelled, keyed by the event id, and queues it after the commit', async () => {
    const { refunded, placedOnly, abandoned, paid } = await seedMix();
    await (await projectorWith(dataPlatformOutboxProjection(queue, logger))).catchUp();

    const expected = [...deliveryIds(refunded), ...deliveryIds(abandoned), ...deliveryIds(paid)];
    expect(deliveryIds(placedOnly)).toEqual([]);
    const page = await documents.find<DeliveryDoc>(DATA_PLATFORM_DELIVERIES, { limit: 100, sort: { field: 'position', direction: 'asc' } });
    expect(page.items.map((d) => d.id)).toEqual(expected);
    expect(page.items[0]).toEqual({
      id: refunded.ids.OrderPaid,
      orderId: refunded.orderId,
      eventType: 'OrderPaid',
      stream: `order-${refunded.orderId}`,
      revision: '2',
      position: expect.any(String),
      occurredAt: '2025-01-01T00:00:02.000Z',
      status: 'PENDING',
      attempts: 0,
      lastError: null,
      deliveredAt: null,
      updatedAt: '2025-01-01T00:00:02.000Z',
    });
    expect((await queue.claim(100)).map((job) => job.id)).toEqual(expected);
  });

  it('keeps the progress of a delivery when its event comes again', async () => {
    const order = await seedOrder(events, payers, 'u1', { paid: true });
    const projection = dataPlatformOutboxProjection(queue, logger);
    await (await projectorWith(projection)).catchUp();
    await deliveries.markDelivered([order.ids.OrderPaid!]);

    const [stored] = (await events.readStream(`order-${order.orderId}`)).filter((e) => e.type === 'OrderPaid');
    const written: unknown[] = [];
    await projection.apply(stored, {
      get: (collection, id) => documents.get(collection, id),
      upsert: (_collection, doc) => written.push(doc),
      delete: () => undefined,
    });
    expect(written).toEqual([]);
    expect((await deliveries.get(order.ids.OrderPaid!))?.status).toBe('DELIVERED');
  });

  it('loses nothing when queueing fails after the checkpoint moved: the reconciler queues what has no job', async () => {
    // The outbox only ever enqueues.
    const down = {
      enqueue: async () => {
        throw new Error('queue unreachable');
      },
    } as unknown as Queue;
    const { refunded, abandoned, paid } = await seedMix();
    await (await projectorWith(dataPlatformOutboxProjection(down, logger))).catchUp();
    expect(await documents.getCheckpoint(DATA_PLATFORM_DELIVERIES)).toBe(await events.headPosition());
    expect(await queue.claim(100)).toEqual([]);

    const expected = [...deliveryIds(refunded), ...deliveryIds(abandoned), ...deliveryIds(paid)];
    expect(await requeuePending(deliveries, queue)).toBe(expected.length);
    // Every job is live now (one is even held): running again adds nothing.
    const [held] = await queue.claim(1);
    expect(await requeuePending(deliveries, queue)).toBe(0);
    expect([held, ...(await queue.claim(100))].map((job) => job.id)).toEqual(expected);
  });

  it('leaves delivered and dead deliveries alone when reconciling', async () => {
    const delivered = await seedOrder(events, payers, 'u1', { paid: true });
    const dead = await seedOrder(events, payers, 'u2', { paid: true });
    const pending = await seedOrder(events, payers, 'u3', { paid: true });
    await (await projectorWith(dataPlatformOutboxProjection(queue, logger))).catchUp();
    for (const job of await queue.claim(100)) await queue.ack([job]);
    await deliveries.markDelivered([delivered.ids.OrderPaid!]);
    for (let i = 0; i < 3; i++) await deliveries.recordFailure(dead.ids.OrderPaid!, 'HTTP 503');

    expect(await requeuePending(deliveries, queue)).toBe(1);
    expect((await queue.claim(100)).map((job) => job.id)).toEqual([pending.ids.OrderPaid]);
  });

  describe('payload', () => {
    let orders: Record<string, SeededOrder>;
    const payloadOf = async (id: string) => orderPayload(events, (await deliveries.get(id))!);

    beforeEach(async () => {
      orders = await seedMix();
      await (await projectorWith(dataPlatformOutboxProjection(queue, logger))).catchUp();
    });

    it('is the order as it stood after the delivered event, later events left out', async () => {
      const { refunded } = orders;
      expect(await payloadOf(refunded.ids.OrderPaid!)).toEqual({
        eventId: refunded.ids.OrderPaid,
        eventType: 'OrderPaid',
        orderId: refunded.orderId,
        userId: 'u1',
        orderType: 'NORMAL',
        status: 'PAID',
        lines: LINES,
        couponId: 'c-1',
        subtotal: 2500,
        discount: 300,
        total: 2200,
        placedAt: '2025-01-01T00:00:00.000Z',
        paidAt: '2025-01-01T00:00:02.000Z',
        cancelledAt: null,
        occurredAt: '2025-01-01T00:00:02.000Z',
      });
      expect(await payloadOf(refunded.ids.OrderCancelled!)).toMatchObject({
        eventId: refunded.ids.OrderCancelled,
        eventType: 'OrderCancelled',
        status: 'CANCELLED',
        paidAt: '2025-01-01T00:00:02.000Z',
        cancelledAt: '2025-01-01T00:00:03.000Z',
        occurredAt: '2025-01-01T00:00:03.000Z',
      });
      expect(await payloadOf(orders.abandoned.ids.OrderCancelled!)).toMatchObject({ status: 'CANCELLED', paidAt: null, couponId: null, total: 2500 });
    });

    it('never carries the payer, sealed or open', async () => {
      for (const id of [...deliveryIds(orders.refunded), ...deliveryIds(orders.paid)]) {
        const text = JSON.stringify(await payloadOf(id));
        expect(text).not.toMatch(/payer/i);
        for (const secret of [orders.refunded.ciphertext!, orders.paid.ciphertext!, PAYER.name, PAYER.phone, PAYER.email]) {
          expect(text).not.toContain(secret);
        }
      }
    });
  });

  describe('delivery state', () => {
    let id: string;
    beforeEach(async () => {
      id = (await seedOrder(events, payers, 'u1', { paid: true })).ids.OrderPaid!;
      await (await projectorWith(dataPlatformOutboxProjection(queue, logger))).catchUp();
    });

    it('counts failures and goes DEAD on the last attempt allowed', async () => {
      expect(await deliveries.recordFailure(id, 'e1')).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'e1' });
      expect(await deliveries.recordFailure(id, 'e2')).toMatchObject({ status: 'PENDING', attempts: 2, lastError: 'e2' });
      expect(await deliveries.recordFailure(id, 'e3')).toMatchObject({ status: 'DEAD', attempts: 3, lastError: 'e3', updatedAt: '2025-02-01T00:00:00.000Z' });
      expect(await deliveries.recordFailure(id, 'late')).toMatchObject({ status: 'DEAD', attempts: 3, lastError: 'e3' });
    });

    it('keeps DELIVERED final: repeating it or a late failure changes nothing', async () => {
      await deliveries.recordFailure(id, 'e1');
      await deliveries.markDelivered([id]);
      const delivered = await deliveries.get(id);
      expect(delivered).toMatchObject({ status: 'DELIVERED', attempts: 2, deliveredAt: '2025-02-01T00:00:00.000Z', lastError: 'e1' });
      await deliveries.markDelivered([id]);
      await deliveries.recordFailure(id, 'late');
      expect(await deliveries.get(id)).toEqual(delivered);
    });

    it('revives only a DEAD delivery, with a fresh allowance of attempts', async () => {
      await expect(deliveries.revive(id)).rejects.toMatchObject({ code: 'DELIVERY_NOT_DEAD' });
      await expect(deliveries.revive('no-such-delivery')).rejects.toMatchObject({ code: 'DELIVERY_NOT_FOUND' });
      for (let i = 0; i < 3; i++) await deliveries.recordFailure(id, 'down');
      expect(await deliveries.revive(id)).toMatchObject({ status: 'PENDING', attempts: 0, lastError: 'down' });
      expect(await deliveries.recordFailure(id, 'again')).toMatchObject({ status: 'PENDING', attempts: 1 });
    });
  });
});
