import { randomUUID } from 'node:crypto';
import { KEY_PARTITIONS, PostgresDataKeyStore } from '../../src/shared/keys/postgres';
import { DatabaseUnavailable, Postgres } from '../../src/shared/postgres';
import { describePostgres, TEST_POSTGRES_URL } from '../support/postgres';
import { dataKeyStoreContract } from './keys.contract';

describePostgres('PostgreSQL data key store', (pg) => {
  let other: Postgres;
  beforeAll(() => {
    other = new Postgres({ url: TEST_POSTGRES_URL, schema: pg().schema, poolSize: 2 });
  });
  afterAll(async () => other.close());

  // Two instances: two pools on one schema.
  dataKeyStoreContract(async () => Promise.all([PostgresDataKeyStore.open(pg()), PostgresDataKeyStore.open(other)]));

  const partitionOf = async (userId: string) =>
    (await pg().query<{ partition: string }>(`SELECT tableoid::regclass::text AS partition FROM ${pg().table('data_keys')} WHERE user_id = $1`, [userId]))[0].partition;
  const fileOf = async (partition: string) => (await pg().query<{ file: string }>(`SELECT pg_relation_filenode($1::regclass)::text AS file`, [partition]))[0].file;

  it('answers a destroy whose rewrite failed with DatabaseUnavailable, and rewrites the partition when the destroy is repeated', async () => {
    const impatient = new Postgres({ url: TEST_POSTGRES_URL, schema: pg().schema, poolSize: 2, statementTimeoutMs: 300 });
    const store = await PostgresDataKeyStore.open(impatient);
    const reader = await pg().pool.connect();
    try {
      const doomed = { userId: `doomed-${randomUUID()}`, keyId: 'dk-doomed', masterKeyId: 'mk-1', wrapped: `DOOMED-${randomUUID()}` };
      await store.create(doomed);
      const partition = await partitionOf(doomed.userId);
      const file = await fileOf(partition);
      // A long read of the partition: VACUUM FULL waits for it past the statement timeout.
      await reader.query('BEGIN');
      await reader.query(`LOCK TABLE ${partition} IN ACCESS SHARE MODE`);
      await expect(store.destroy(doomed.userId)).rejects.toBeInstanceOf(DatabaseUnavailable);
      await reader.query('ROLLBACK');
      expect(await store.get(doomed.userId)).toBeNull();
      // The row is gone but its bytes are still in the file: the destroy is not done, and says so when asked again.
      expect(await fileOf(partition)).toBe(file);
      expect(await store.destroy(doomed.userId)).toBe(true);
      expect(await fileOf(partition)).not.toBe(file);
      expect(await store.destroy(doomed.userId)).toBe(false);
    } finally {
      await reader.query('ROLLBACK').catch(() => undefined);
      reader.release();
      await impatient.close();
    }
  });

  it('rewrites the partition that held a destroyed key (old row versions and all), and only that one', async () => {
    const store = await PostgresDataKeyStore.open(pg());
    const doomed = { userId: `doomed-${randomUUID()}`, keyId: 'dk-doomed', masterKeyId: 'mk-1', wrapped: `DOOMED-${randomUUID()}` };
    await store.create(doomed);
    await store.rewrap(doomed, 'mk-2', `${doomed.wrapped}-again`);
    const files = async () =>
      new Map(
        (
          await pg().query<{ name: string; file: string }>(
            `SELECT c.relname AS name, pg_relation_filenode(c.oid)::text AS file FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = '${pg().table('data_keys')}'::regclass`,
          )
        ).map((row) => [row.name, row.file]),
      );
    const [{ partition }] = await pg().query<{ partition: string }>(
      `SELECT tableoid::regclass::text AS partition FROM ${pg().table('data_keys')} WHERE user_id = $1`,
      [doomed.userId],
    );
    const name = partition.split('.').pop()!.replace(/"/g, '');
    const before = await files();
    expect(before.size).toBe(KEY_PARTITIONS);
    expect(await store.destroy(doomed.userId)).toBe(true);
    const after = await files();
    for (const [table, file] of before) expect([table, after.get(table) !== file]).toEqual([table, table === name]);
    expect(await store.get(doomed.userId)).toBeNull();
    expect(await store.destroy(doomed.userId)).toBe(false);
  });
});
