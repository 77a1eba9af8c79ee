import { PostgresIdempotencyStore } from '../../src/shared/idempotency/postgres';
import { Postgres } from '../../src/shared/postgres';
import { describePostgres, TEST_POSTGRES_URL } from '../support/postgres';
import { idempotencyContract } from './idempotency.contract';

describePostgres('PostgreSQL idempotency store', (pg) => {
  let other: Postgres;
  beforeAll(() => {
    other = new Postgres({ url: TEST_POSTGRES_URL, schema: pg().schema, poolSize: 2 });
  });
  afterAll(async () => other.close());

  // Two instances: two pools on one schema, migrating it at once as instances starting together do.
  idempotencyContract(async () => Promise.all([PostgresIdempotencyStore.open(pg()), PostgresIdempotencyStore.open(other)]), 2);

  it('deletes expired records as claims go by, and keeps the live ones', async () => {
    const store = await PostgresIdempotencyStore.open(pg());
    const scope = `purge-${Date.now()}`;
    const count = async (live: boolean) => {
      const [{ n }] = await pg().query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${pg().table('idempotency_keys')} WHERE scope = $1 AND (expires_at > clock_timestamp()) = $2`,
        [scope, live],
      );
      return n;
    };
    await store.claim(scope, 'live', 'f', 60_000);
    // Each of these claims expires at once; every 100th claim starts a sweep of what has expired.
    for (let i = 0; i < 150; i++) await store.claim(scope, `k${i}`, 'f', -1);
    await store.close();
    expect(await count(false)).toBeLessThan(150);
    expect(await count(true)).toBe(1);
    expect(await store.claim(scope, 'live', 'f', 60_000)).toEqual({ outcome: 'in_flight' });
  });
});
