import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { allProjections } from '../../projections';
import { inParallel } from './api';
import type { AppServices } from '../../src/composition/services';
import { DocumentStore } from '../../src/shared/documents/port';
import { Postgres } from '../../src/shared/postgres';
import { EventStore, formatPosition, NewEvent, StreamWrite } from '../../src/shared/eventstore/port';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { Decider, DomainEvent } from '../../src/shared/domain/decider';
import { couponDecider, CouponState, userCouponIdOf } from '../../src/write/coupon/decider';
import { CouponCommand } from '../../src/write/coupon/commands';
import { CouponEvent } from '../../src/write/coupon/events';
import { PRODUCT_LIMITS } from '../../src/write/product/commands';
import { productDecider } from '../../src/write/product/decider';
import { walletDecider } from '../../src/write/wallet/decider';

/** Filler events: a type no projection reacts to, in streams no command touches. */
export const FILLER_TYPE = 'BenchFiller';

const SEED_METADATA = JSON.stringify({ actorId: 'bench-seeder', role: 'admin' });

/** Where seedShop puts its events: appends grouped in one transaction. */
export interface Seeder {
  transaction(fill: () => void): void;
  append(stream: string, events: readonly DomainEvent[]): void;
}

/**
 * Writes events straight into an embedded events.db in one transaction, bypassing HTTP. The
 * schema is the event store's own (SqliteEventStore creates it); the rows are what its append
 * writes: random UUID ids, revisions from 0 per stream, JSON data and metadata. The domain
 * events come from the real deciders, so their shapes are exactly the application's.
 */
export class LogSeeder implements Seeder {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, string, number, string, string, string]>;
  private readonly revisions = new Map<string, number>();

  constructor(readonly file: string) {
    // Let the store create its table and pragmas exactly as the server will find them.
    void new SqliteEventStore(file, { synchronous: 'NORMAL' }).close();
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -262144');
    this.insert = this.db.prepare('INSERT INTO events (id, stream, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** Runs `fill` in one transaction. */
  transaction(fill: () => void): void {
    this.db.transaction(fill)();
  }

  /** Appends to a stream this seeder created (the log it seeds is fresh). */
  append(stream: string, events: readonly DomainEvent[]): void {
    let revision = this.revisions.get(stream) ?? -1;
    for (const event of events) {
      revision += 1;
      this.insert.run(randomUUID(), stream, revision, event.type, JSON.stringify(event.data), SEED_METADATA);
    }
    this.revisions.set(stream, revision);
  }

  /** `count` filler events, 10 per stream, each about the size of a PointsCharged. */
  filler(count: number, tag: string): void {
    const now = new Date().toISOString();
    for (let i = 0; i < count; i += 1) {
      const stream = `benchfill-${tag}-${Math.floor(i / 10)}`;
      const data = `{"userId":"filler-${Math.floor(i / 10)}","amount":100,"balanceAfter":${(1 + (i % 10)) * 100},"note":"unrelated to every projection","occurredAt":"${now}"}`;
      this.insert.run(randomUUID(), stream, i % 10, FILLER_TYPE, data, SEED_METADATA);
    }
  }

  head(): number {
    return (this.db.prepare('SELECT MAX(position) AS p FROM events').get() as { p: number | null }).p ?? 0;
  }

  close(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

/**
 * Seeds through the EventStore port, for a store the bench cannot write as a file (PostgreSQL):
 * collects the appends, then `flush` sends them as large multi-stream appends with the exact
 * expected revision of each stream, several in flight so that the store's group commit packs them.
 */
export class PortSeeder implements Seeder {
  private readonly streams = new Map<string, NewEvent[]>();

  transaction(fill: () => void): void {
    fill();
  }

  append(stream: string, events: readonly DomainEvent[]): void {
    let rows = this.streams.get(stream);
    if (!rows) this.streams.set(stream, (rows = []));
    for (const event of events) rows.push({ id: randomUUID(), type: event.type, data: event.data as NewEvent['data'], metadata: JSON.parse(SEED_METADATA) });
  }

  /** Appends everything collected; returns the events written. */
  async flush(store: EventStore, eventsPerAppend = 2_000, inFlight = 4): Promise<number> {
    // Round k holds the k-th slice of every stream, so a stream never appears twice in one append
    // and its slices go in order.
    const appends: StreamWrite[][] = [];
    let total = 0;
    for (let round = 0; ; round += 1) {
      const writes: StreamWrite[] = [];
      for (const [stream, events] of this.streams) {
        const from = round * eventsPerAppend;
        if (from >= events.length) continue;
        writes.push({ stream, expectedRevision: from === 0 ? 'no_stream' : BigInt(from - 1), events: events.slice(from, from + eventsPerAppend) });
      }
      if (writes.length === 0) break;
      let batch: StreamWrite[] = [];
      let size = 0;
      for (const write of writes) {
        batch.push(write);
        size += write.events.length;
        total += write.events.length;
        if (size >= eventsPerAppend) {
          appends.push(batch);
          batch = [];
          size = 0;
        }
      }
      if (batch.length > 0) appends.push(batch);
      // The next round's slices must follow this round's: send round by round.
      await inParallel(appends.splice(0), inFlight, (writes) => store.append(writes));
    }
    this.streams.clear();
    return total;
  }
}

/** Runs a command through a decider, as the server would, and returns the events and the state after. */
export function decideAll<C extends { type: string; data: object }, E extends DomainEvent, S>(
  decider: Decider<C, E, S>,
  state: S,
  command: C,
): { events: readonly E[]; state: S } {
  const events = decider.decide(command, state);
  return { events, state: events.reduce((s, e) => decider.evolve(s, e), state) };
}

export interface Fixtures {
  readonly products: ReadonlyArray<{ readonly id: string; readonly price: number; readonly stock: number }>;
  readonly coupons: ReadonlyArray<{ readonly couponId: string; readonly discount: number }>;
  /** Users that hold points and one coupon (their userCouponId), spread over the campaigns. */
  readonly buyers: readonly Buyer[];
  /** Users that hold points and a coupon of one extra campaign they all share. */
  readonly hotBuyers: readonly Buyer[];
}

export interface Buyer {
  readonly userId: string;
  readonly points: number;
  readonly userCouponId: string;
}

/**
 * Products, coupons and buyers for checkout: every buyer gets `points` (PointsCharged) and one
 * user coupon of campaign `i % coupons`; every hot buyer one of a campaign of their own that
 * they all share. All through the deciders, appended in one transaction.
 */
export function seedShop(
  seeder: Seeder,
  options: {
    tag: string;
    products: number;
    stock: number;
    coupons: number;
    buyers: number;
    hotBuyers?: number;
    points: number;
    extraWallets?: ReadonlyArray<{ userId: string; points: number }>;
  },
): Fixtures {
  const now = new Date().toISOString();
  const products: Array<{ id: string; price: number; stock: number }> = [];
  const coupons: Array<{ couponId: string; discount: number; state: CouponState }> = [];
  const buyers: Buyer[] = [];
  const hotBuyers: Buyer[] = [];
  seeder.transaction(() => {
    for (let i = 0; i < options.products; i += 1) {
      const id = randomUUID();
      const price = 1000 * (1 + (i % 20));
      const { events } = decideAll(productDecider, productDecider.initialState, {
        type: 'RegisterProduct',
        data: { productId: id, name: `Bench product ${i + 1}`, price, stock: options.stock, limits: PRODUCT_LIMITS, now },
      });
      seeder.append(`product-${id}`, events);
      products.push({ id, price, stock: options.stock });
    }
    const hot = options.hotBuyers ?? 0;
    for (let i = 0; i < options.coupons + (hot > 0 ? 1 : 0); i += 1) {
      const couponId = randomUUID();
      const discount = 500;
      const created = decideAll<CouponCommand, CouponEvent, CouponState>(couponDecider, couponDecider.initialState, {
        type: 'CreateCoupon',
        data: {
          couponId,
          name: i < options.coupons ? `Bench coupon ${i + 1}` : 'Bench coupon everybody holds',
          discount: { type: 'FIXED', amount: discount },
          minOrderAmount: 0,
          totalQuantity: i < options.coupons ? Math.max(1, Math.ceil(options.buyers / options.coupons)) : hot,
          issueStartsAt: null,
          issueEndsAt: null,
          validUntil: null,
          validDays: null,
          now,
        },
      });
      seeder.append(`coupon-${couponId}`, created.events);
      coupons.push({ couponId, discount, state: created.state });
    }
    const wallet = (userId: string, points: number) => {
      // One charge may add at most 1,000,000 (the default POINTS_MAX_CHARGE).
      let state = walletDecider.initialState;
      for (let left = points; left > 0; left -= 1_000_000) {
        const charged = decideAll(walletDecider, state, {
          type: 'ChargePoints',
          data: { userId, amount: Math.min(left, 1_000_000), limits: { maxCharge: 1_000_000, balanceCap: 10_000_000 }, now },
        });
        seeder.append(`wallet-${userId}`, charged.events);
        state = charged.state;
      }
    };
    const buyer = (userId: string, coupon: (typeof coupons)[number]): Buyer => {
      wallet(userId, options.points);
      const issued = decideAll<CouponCommand, CouponEvent, CouponState>(couponDecider, coupon.state, {
        type: 'IssueCoupon',
        data: { couponId: coupon.couponId, userId, now },
      });
      seeder.append(`coupon-${coupon.couponId}`, issued.events);
      coupon.state = issued.state;
      return { userId, points: options.points, userCouponId: userCouponIdOf(coupon.couponId, userId) };
    };
    for (let i = 0; i < options.buyers; i += 1) buyers.push(buyer(`buyer-${options.tag}-${i}`, coupons[i % options.coupons]));
    for (let i = 0; i < hot; i += 1) hotBuyers.push(buyer(`hotbuyer-${options.tag}-${i}`, coupons[options.coupons]));
    for (const { userId, points } of options.extraWallets ?? []) wallet(userId, points);
  });
  return { products, coupons: coupons.map(({ couponId, discount }) => ({ couponId, discount })), buyers, hotBuyers };
}

/**
 * Moves every projection's checkpoint to `position`, which is what catching up over the filler
 * would do: no projection reacts to FILLER_TYPE (checked here against the real projection list),
 * so each would read past those events and write nothing but its checkpoint.
 */
export async function skipFiller(documents: DocumentStore, position: number): Promise<string[]> {
  const stub = { cache: {}, documents: {}, ranking: {}, deliveryQueue: {}, logger: {}, config: { POPULAR_TIMEZONE: 'Asia/Seoul' } };
  const projections = allProjections(stub as unknown as AppServices);
  const reacting = projections.filter((p) => p.eventTypes.has(FILLER_TYPE));
  if (reacting.length > 0) throw new Error(`projections react to ${FILLER_TYPE}: ${reacting.map((p) => p.name).join(', ')}`);
  const formatted = formatPosition(position);
  for (const { name } of projections) await documents.write([], { projection: name, position: formatted, previous: null });
  return projections.map((p) => p.name);
}

/** LogSeeder.filler's events, written by the server itself, a slice per statement: a million rows do not cross the wire. */
export async function fillPostgres(pool: Postgres, count: number, tag: string, perStatement = 100_000): Promise<void> {
  const now = new Date().toISOString();
  for (let from = 0; from < count; from += perStatement) {
    await pool.query(
      `INSERT INTO ${pool.table('events')} (id, stream, revision, type, data, metadata)
       SELECT gen_random_uuid()::text, 'benchfill-' || $1 || '-' || (i / 10), i % 10, $2,
              format('{"userId":"filler-%s","amount":100,"balanceAfter":%s,"note":"unrelated to every projection","occurredAt":"%s"}', i / 10, (1 + i % 10) * 100, $3::text)::json,
              $4::json
       FROM generate_series($5::bigint, $6::bigint) AS i ORDER BY i`,
      [tag, FILLER_TYPE, now, SEED_METADATA, from, Math.min(count, from + perStatement) - 1],
      false,
    );
  }
}
