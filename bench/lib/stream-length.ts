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
import { SqliteSnapshotStore } from '../../src/shared/snapshots/sqlite';
import { AggregateSnapshots } from '../../src/shared/snapshots/snapshots';
import { productDecider } from '../../src/write/product/decider';
import { walletDecider } from '../../src/write/wallet/decider';
import { LogSeeder } from './seed';

export interface StreamLengthResult {
  readonly aggregate: 'product' | 'wallet';
  /** Orders already in the aggregate's stream. */
  readonly priorOrders: number;
  /** Loading the stream into a cold command cache with no snapshot: the whole stream is folded. */
  readonly foldAllMs: number;
  /**
   * Loading it cold again after a restart (a new handler and snapshot store), from the snapshot
   * the first load took plus the events appended since (`tail`).
   */
  readonly coldLoadMs: number;
  /** The same load's CPU time (this process, all threads): what a busy host does not inflate as much as the wall clock. */
  readonly coldLoadCpuMs: number;
  readonly tail: number;
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
    const every = 1_000;
    const snapshotsIn = () =>
      new AggregateSnapshots(new SqliteSnapshotStore(join(dir, 'snapshots.db')), every, (error) => {
        throw error;
      });
    let snapshots = snapshotsIn();
    const handler = new CommandHandler(store, new InProcessLockService(), config, snapshots);
    const timed = async (load: () => Promise<unknown>) => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await load();
      const cpu = process.cpuUsage(cpu0);
      return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
    };
    const measured: Array<{ aggregate: 'product' | 'wallet'; stream: string; n: number; warmUp: boolean; foldAllMs: number; usPerCommand: number }> = [];
    for (const { n, productId, userId, warmUp } of seeded) {
      const productCold = (await timed(() => handler.load(productDecider, `product-${productId}`))).ms;
      // The garbage of a cold load is collected during the first commands after it: not timed.
      const decrease = (i: number) => handler.handle(productDecider, productId, { type: 'DecreaseStock', data: { productId, orderId: `new-${i}`, quantity: 1, now } }, { metadata: {} });
      for (let i = 0; i < 100; i += 1) await decrease(-1 - i);
      let t0 = performance.now();
      for (let i = 0; i < commands; i += 1) await decrease(i);
      measured.push({ aggregate: 'product', stream: `product-${productId}`, n, warmUp, foldAllMs: productCold, usPerCommand: ((performance.now() - t0) * 1000) / commands });

      const walletCold = (await timed(() => handler.load(walletDecider, `wallet-${userId}`))).ms;
      const use = (i: number) => handler.handle(walletDecider, userId, { type: 'UsePoints', data: { userId, amount: 1, orderId: `new-${i}`, now } }, { metadata: {} });
      for (let i = 0; i < 100; i += 1) await use(-1 - i);
      t0 = performance.now();
      for (let i = 0; i < commands; i += 1) await use(i);
      measured.push({ aggregate: 'wallet', stream: `wallet-${userId}`, n, warmUp, foldAllMs: walletCold, usPerCommand: ((performance.now() - t0) * 1000) / commands });
    }
    // A restart: the snapshots written so far are on disk, the command cache is empty.
    await snapshots.close();
    const snapshotStore = new SqliteSnapshotStore(join(dir, 'snapshots.db'));
    snapshots = new AggregateSnapshots(snapshotStore, every, (error) => {
      throw error;
    });
    const restarted = new CommandHandler(store, new InProcessLockService(), config, snapshots);
    for (const m of measured) {
      const decider = (m.aggregate === 'product' ? productDecider : walletDecider) as typeof productDecider;
      const snapshotAt = (await snapshotStore.read(m.stream))?.revision ?? -1n;
      const cold = await timed(() => restarted.load(decider, m.stream));
      const { revision } = await restarted.load(decider, m.stream);
      const tail = Number(revision! - snapshotAt);
      if (!m.warmUp) results.push({ aggregate: m.aggregate, priorOrders: m.n, foldAllMs: m.foldAllMs, coldLoadMs: cold.ms, coldLoadCpuMs: cold.cpuMs, tail, usPerCommand: m.usPerCommand });
    }
    await snapshots.close();
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
      process.stdout.write(
        `${r.aggregate.padEnd(8)} ${String(r.priorOrders).padStart(7)} prior orders: whole fold ${r.foldAllMs.toFixed(1)} ms, cold load from snapshot + ${r.tail} events ${r.coldLoadMs.toFixed(1)} ms (CPU ${r.coldLoadCpuMs.toFixed(1)} ms), ${r.usPerCommand.toFixed(0)} µs per command\n`,
      );
    }
  });
}
