import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CommandHandler } from '../../src/shared/command/handler';
import type { Config } from '../../src/shared/config';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { InProcessLockService } from '../../src/shared/lock/memory';
import { productDecider } from '../../src/write/product/decider';
import { walletDecider } from '../../src/write/wallet/decider';
import { LogSeeder } from './seed';

export interface StreamLengthResult {
  readonly aggregate: 'product' | 'wallet';
  /** Orders already in the aggregate's stream. */
  readonly priorOrders: number;
  /** Loading the stream into a cold command cache (after a restart or an eviction). */
  readonly coldLoadMs: number;
  /** One more order's command (DecreaseStock / UsePoints) through the command handler, cache warm. */
  readonly usPerCommand: number;
}

/**
 * Cost per command against the length of the aggregate's own stream: a product with N orders
 * behind it, a wallet that paid N orders. In-process (the command handler on an embedded store
 * in a temporary directory), so only the write path's own cost shows.
 */
export async function streamLength(lengths: readonly number[], commands = 500): Promise<StreamLengthResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'eventmart-bench-stream-'));
  const results: StreamLengthResult[] = [];
  try {
    const file = join(dir, 'events.db');
    const seeder = new LogSeeder(file);
    const now = new Date().toISOString();
    const seeded: Array<{ n: number; productId: string; userId: string; warmUp: boolean }> = [];
    seeder.transaction(() => {
      // The first pair only warms the code up (its numbers would measure the JIT, not the stream).
      for (const [k, n] of [0, ...lengths].entries()) {
        const productId = randomUUID();
        const userId = `long-${k}-${n}`;
        const stock = 10_000_000;
        // Events shaped exactly as the deciders write them (see src/write/*/events.ts).
        seeder.append(`product-${productId}`, [
          { type: 'ProductRegistered', data: { productId, name: `Long history ${n}`, price: 1000, stock, occurredAt: now } },
          ...Array.from({ length: n }, (_, i) => ({
            type: 'StockDecreased',
            data: { productId, orderId: `old-${i}`, quantity: 1, stockAfter: stock - i - 1, occurredAt: now },
          })),
        ]);
        const balance = 10_000_000;
        seeder.append(`wallet-${userId}`, [
          { type: 'PointsCharged', data: { userId, amount: balance, balanceAfter: balance, occurredAt: now } },
          ...Array.from({ length: n }, (_, i) => ({
            type: 'PointsUsed',
            data: { userId, amount: 1, orderId: `old-${i}`, balanceAfter: balance - i - 1, occurredAt: now },
          })),
        ]);
        seeded.push({ n, productId, userId, warmUp: k === 0 });
      }
    });
    seeder.close();

    const store = new SqliteEventStore(file, { synchronous: 'NORMAL' });
    const config = { AGGREGATE_CACHE_SIZE: 10_000, COMMAND_MAX_ATTEMPTS: 8 } as Config;
    const handler = new CommandHandler(store, new InProcessLockService(), config);
    for (const { n, productId, userId, warmUp } of seeded) {
      let t0 = performance.now();
      await handler.load(productDecider, `product-${productId}`);
      const productCold = performance.now() - t0;
      // The garbage of a cold load is collected during the first commands after it: not timed.
      const decrease = (i: number) => handler.handle(productDecider, productId, { type: 'DecreaseStock', data: { productId, orderId: `new-${i}`, quantity: 1, now } }, { metadata: {} });
      for (let i = 0; i < 100; i += 1) await decrease(-1 - i);
      t0 = performance.now();
      for (let i = 0; i < commands; i += 1) await decrease(i);
      results.push({ aggregate: 'product', priorOrders: n, coldLoadMs: productCold, usPerCommand: ((performance.now() - t0) * 1000) / commands });

      t0 = performance.now();
      await handler.load(walletDecider, `wallet-${userId}`);
      const walletCold = performance.now() - t0;
      const use = (i: number) => handler.handle(walletDecider, userId, { type: 'UsePoints', data: { userId, amount: 1, orderId: `new-${i}`, now } }, { metadata: {} });
      for (let i = 0; i < 100; i += 1) await use(-1 - i);
      t0 = performance.now();
      for (let i = 0; i < commands; i += 1) await use(i);
      results.push({ aggregate: 'wallet', priorOrders: n, coldLoadMs: walletCold, usPerCommand: ((performance.now() - t0) * 1000) / commands });
      if (warmUp) results.splice(-2, 2);
    }
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (require.main === module) {
  const lengths = (process.argv[2] ?? '0,1000,10000,30000').split(',').map(Number);
  void streamLength(lengths).then((results) => {
    for (const r of results) {
      process.stdout.write(`${r.aggregate.padEnd(8)} ${String(r.priorOrders).padStart(7)} prior orders: cold load ${r.coldLoadMs.toFixed(1)} ms, ${r.usPerCommand.toFixed(0)} µs per command\n`);
    }
  });
}
