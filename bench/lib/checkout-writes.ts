import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { balancesProjection } from '../../projections/balances';
import { dailySalesProjection } from '../../projections/daily-sales';
import { dataPlatformOutboxProjection } from '../../projections/data-platform-outbox';
import { ordersProjection } from '../../projections/orders';
import { productsProjection } from '../../projections/products';
import { Projection } from '../../projections/projection';
import { userCouponsProjection } from '../../projections/user-coupons';
import { CollectionSpec, Doc, DocWrite } from '../../src/shared/documents/port';
import { SqliteDocumentStore } from '../../src/shared/documents/sqlite';
import { formatPosition } from '../../src/shared/eventstore/port';

/**
 * What the read models cost a checkout, in process: the documents the projections write for one
 * paid order (3 products and a coupon), shaped as they write them and through the real
 * SqliteDocumentStore with the real collections and indexes, in batches of `batch` checkouts
 * committed together as the projection runtime does. Run once with everything, then without one
 * collection's writes (or without any secondary index): the difference is what that collection
 * costs. CPU time of this process (all threads), so a host shared with other work inflates it
 * less than the wall clock; compare rows of one run only.
 */
const projections: readonly Projection[] = [
  balancesProjection,
  productsProjection(null as never),
  userCouponsProjection,
  ordersProjection,
  dailySalesProjection(null as never, null as never, 'UTC'),
  dataPlatformOutboxProjection(null as never, null as never),
];

export interface WriteCost {
  readonly variant: string;
  readonly cpuUsPerCheckout: number;
}

interface Shop {
  readonly products: readonly string[];
  position: number;
}

const now = () => new Date().toISOString();

/** The documents one checkout makes each collection write, by projection name. */
function checkoutDocs(shop: Shop, i: number): Map<string, DocWrite[]> {
  const userId = `buyer-${i}`;
  const orderId = randomUUID();
  const at = now();
  const pos = () => formatPosition((shop.position += 1));
  const bought = [0, 1, 2].map((k) => shop.products[(i * 3 + k) % shop.products.length]);
  const lines = bought.map((productId) => ({ kind: 'PRODUCT', productId, name: `Product ${productId.slice(0, 8)}`, unitPrice: 1000, quantity: 1, amount: 1000 }));
  const up = (collection: string, doc: Doc): DocWrite => ({ kind: 'upsert', collection, doc });
  const userCouponId = `coupon-${i % 1000}:${userId}`;
  const docs = new Map<string, DocWrite[]>();
  docs.set('balances', [up('balances', { id: userId, userId, balance: 997_500, updatedAt: at })]);
  docs.set('products', bought.map((id, k) => up('products', { id, name: lines[k].name, price: 1000, stock: 1_000_000 - i, listPosition: formatPosition(k + 1), updatedAt: at })));
  docs.set('user_coupons', [
    up('user_coupons', {
      id: userCouponId,
      userCouponId,
      couponId: `coupon-${i % 1000}`,
      userId,
      name: 'Bench coupon',
      discount: { type: 'FIXED', amount: 500 },
      minOrderAmount: 0,
      validUntil: null,
      expiresAt: '9999-12-31T23:59:59.999Z',
      used: true,
      usedAt: at,
      orderId,
      issuedAt: at,
      position: formatPosition(i + 1),
    }),
  ]);
  const order = {
    id: orderId,
    orderId,
    userId,
    orderType: 'NORMAL',
    status: 'PAID',
    lines,
    coupon: { userCouponId, couponId: `coupon-${i % 1000}`, discount: 500 },
    subtotal: 3000,
    discount: 500,
    total: 2500,
    placedAt: at,
    expiresAt: at,
    paidAt: at,
    cancelledAt: null,
    // A sealed payer: key id, nonce and ciphertext, as the payer cipher stores it.
    payer: { keyId: randomUUID(), iv: 'x'.repeat(16), data: 'y'.repeat(120), tag: 'z'.repeat(22) },
    history: [
      { status: 'PENDING', at },
      { status: 'PAID', at },
    ],
    createdAt: at,
    position: pos(),
  };
  docs.set('orders', [
    up('orders', order),
    ...bought.map((productId) => up('order_lines', { id: `${orderId}:${productId}`, orderId, userId, productId, status: 'PAID', createdAt: at })),
  ]);
  const day = at.slice(0, 10);
  docs.set('daily_sales', [
    up('sales_orders', { id: orderId, lines: bought.map((productId) => ({ productId, quantity: 1 })), countedOn: day, uncounted: false }),
    ...bought.map((productId) => up('daily_sales', { id: `${day}:${productId}`, day, productId, quantity: i })),
  ]);
  const delivery = { id: randomUUID(), orderId, eventType: 'OrderPaid', stream: `order-${orderId}`, revision: '1', position: pos(), occurredAt: at, attempts: 0, lastError: null, deliveredAt: null, updatedAt: at };
  docs.set('data_platform_deliveries', [
    up('data_platform_deliveries', { ...delivery, status: 'PENDING' }),
    // The delivery worker's update once the data platform has it.
    up('data_platform_deliveries', { ...delivery, status: 'DELIVERED', attempts: 1, deliveredAt: at }),
  ]);
  return docs;
}

interface Variant {
  readonly name: string;
  readonly leaveOut: (collection: string) => boolean;
  readonly indexes: boolean;
}

async function run(variant: Variant, checkouts: number, batch: number): Promise<WriteCost> {
  const dir = mkdtempSync(join(tmpdir(), 'eventmart-bench-writes-'));
  const documents = new SqliteDocumentStore(join(dir, 'readmodels.db'));
  try {
    for (const projection of projections) {
      for (const spec of projection.collections) await documents.ensureCollection(variant.indexes ? spec : ({ ...spec, indexes: [] } satisfies CollectionSpec));
    }
    const shop: Shop = { products: Array.from({ length: 100 }, () => randomUUID()), position: 0 };
    const step = async (from: number, count: number) => {
      const perProjection = new Map<string, DocWrite[]>();
      for (let i = from; i < from + count; i += 1) {
        for (const [name, writes] of checkoutDocs(shop, i)) {
          const kept = writes.filter((w) => !variant.leaveOut(w.collection));
          perProjection.set(name, [...(perProjection.get(name) ?? []), ...kept]);
        }
      }
      // One write per projection per batch, all in one turn: one transaction, as in the runtime.
      await Promise.all(
        [...perProjection].map(([name, writes]) =>
          documents.write(writes.filter((w) => w.kind !== 'upsert' || w.doc.status !== 'DELIVERED'), { projection: name, position: formatPosition(shop.position) }),
        ),
      );
      // The delivery worker's updates come in transactions of their own, after the projection's.
      const delivered = [...perProjection.values()].flat().filter((w) => w.kind === 'upsert' && w.doc.status === 'DELIVERED');
      if (delivered.length > 0) await documents.write(delivered);
    };
    // Products, coupons and daily counts exist before the measured checkouts (they are updates then).
    for (let i = 0; i < 1_000; i += batch) await step(i, batch);
    const before = process.cpuUsage();
    for (let i = 1_000; i < 1_000 + checkouts; i += batch) await step(i, batch);
    const cpu = process.cpuUsage(before);
    return { variant: variant.name, cpuUsPerCheckout: (cpu.user + cpu.system) / checkouts };
  } finally {
    await documents.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function checkoutWrites(checkouts = 3_000, batch = 6, rounds = 2, only?: readonly string[]): Promise<WriteCost[]> {
  const collections = projections.flatMap((p) => p.collections.map((c) => c.name)).filter((name) => name !== 'user_coupon_terms');
  const plain = { leaveOut: () => false, indexes: true };
  const variants: Variant[] = [
    { name: 'everything', ...plain },
    { name: 'no secondary index at all', ...plain, indexes: false },
    { name: 'no read-model write at all', ...plain, leaveOut: () => true },
    ...collections.map((name): Variant => ({ name: `without ${name}`, ...plain, leaveOut: (collection) => collection === name })),
  ];
  if (only) variants.splice(0, variants.length, ...variants.filter((v) => only.includes(v.name)));
  const sums = new Map<string, number[]>();
  // Rounds interleave the variants, so a drift of the host spreads over all of them.
  for (let round = 0; round < rounds; round += 1) {
    for (const variant of variants) {
      const { cpuUsPerCheckout } = await run(variant, checkouts, batch);
      sums.set(variant.name, [...(sums.get(variant.name) ?? []), cpuUsPerCheckout]);
    }
  }
  return variants.map(({ name }) => ({ variant: name, cpuUsPerCheckout: Math.min(...sums.get(name)!) }));
}

if (require.main === module) {
  const only = process.argv[2]?.split(',');
  void checkoutWrites(3_000, 6, 2, only).then((costs) => {
    const all = costs[0].cpuUsPerCheckout;
    for (const c of costs) {
      const delta = c.variant === 'everything' ? '' : ` (${c.cpuUsPerCheckout - all >= 0 ? '+' : ''}${Math.round(c.cpuUsPerCheckout - all)})`;
      process.stdout.write(`${c.variant.padEnd(40)} ${Math.round(c.cpuUsPerCheckout)} µs CPU per checkout${delta}\n`);
    }
  });
}
