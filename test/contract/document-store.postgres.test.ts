import { PostgresDocumentStore } from '../../src/shared/documents/postgres';
import { CheckpointMoved } from '../../src/shared/documents/port';
import { Postgres } from '../../src/shared/postgres';
import { describePostgres, TEST_POSTGRES_URL } from '../support/postgres';
import { documentStoreContract } from './document-store.contract';

describePostgres('PostgreSQL document store', (pg) => {
  documentStoreContract(() => PostgresDocumentStore.open(pg()));

  it('lets one of two runners racing from the same checkpoint through, in separate pools', async () => {
    const other = new Postgres({ url: TEST_POSTGRES_URL, schema: pg().schema, poolSize: 2 });
    try {
      const [a, b] = await Promise.all([PostgresDocumentStore.open(pg()), PostgresDocumentStore.open(other)]);
      const upsert = (id: string) => ({ kind: 'upsert' as const, collection: 'race', doc: { id } });
      await a.write([], { projection: 'race', position: '1' });
      const results = await Promise.allSettled([
        a.write([upsert('from-a')], { projection: 'race', position: '2', previous: '1' }),
        b.write([upsert('from-b')], { projection: 'race', position: '2', previous: '1' }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused?.reason).toBeInstanceOf(CheckpointMoved);
      expect((await a.getMany('race', ['from-a', 'from-b'])).length).toBe(1);
      expect(await b.getCheckpoint('race')).toBe('2');
    } finally {
      await other.close();
    }
  });

  it('learns indexes another process declared, and finds through them', async () => {
    const other = new Postgres({ url: TEST_POSTGRES_URL, schema: pg().schema, poolSize: 2 });
    try {
      const projector = await PostgresDocumentStore.open(pg());
      const api = await PostgresDocumentStore.open(other);
      await projector.ensureCollection({ name: 'learned', indexes: [['userId', 'at']] });
      await projector.write([{ kind: 'upsert', collection: 'learned', doc: { id: 'o1', userId: 'u1', at: 1 } }]);
      const page = await api.find('learned', { where: { userId: 'u1' }, sort: { field: 'at', direction: 'desc' }, limit: 5 });
      expect(page.items.map((d) => d.id)).toEqual(['o1']);
      await expect(api.find('learned', { where: { status: 'x' }, limit: 5 })).rejects.toThrow(/index/);
    } finally {
      await other.close();
    }
  });
});

describePostgres('PostgreSQL document store query plans', (pg) => {
  it('walks the declared expression index for the usual shapes, on first and later pages (no sort)', async () => {
    const store = await PostgresDocumentStore.open(pg());
    await store.ensureCollection({ name: 'orders', indexes: [['userId', 'occurredAt'], ['occurredAt']] });
    await store.write(
      Array.from({ length: 3000 }, (_, i) => ({
        kind: 'upsert' as const,
        collection: i % 3 ? 'orders' : 'others',
        doc: { id: `o${i}`, userId: `u${i % 3}`, occurredAt: i % 997 },
      })),
    );
    await pg().query(`ANALYZE ${pg().table('documents')}`);
    const ran: { sql: string; params: readonly unknown[] }[] = [];
    const query = pg().query.bind(pg());
    const spy = jest.spyOn(pg(), 'query').mockImplementation(async (sql, params = [], retry) => {
      if (sql.startsWith('SELECT body')) ran.push({ sql, params });
      return query(sql, params, retry);
    });
    const plan = async (shape: Parameters<typeof store.find>[1]) => {
      ran.length = 0;
      const page = await store.find('orders', shape);
      // The last run read is the one the page came from (the run of documents without the
      // sort field comes first ascending and is empty here).
      const { sql, params } = ran[ran.length - 1];
      const rows = await query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
      return { page, plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
    };
    try {
      for (const shape of [
        { where: { userId: 'u1' }, sort: { field: 'occurredAt', direction: 'desc' as const }, limit: 5 },
        { sort: { field: 'occurredAt', direction: 'asc' as const }, limit: 5 },
      ]) {
        const first = await plan(shape);
        const second = await plan({ ...shape, cursor: first.page.nextCursor });
        for (const { plan: text } of [first, second]) {
          expect(text).toMatch(/Index Scan( Backward)? using doc_/);
          expect(text).not.toMatch(/Sort|Seq Scan/);
        }
      }
    } finally {
      spy.mockRestore();
      await store.close();
    }
  });
});
