/**
 * MongoDB's reset without a server: a fake of the collection calls it makes, to pin the
 * order (documents in chunks, no transaction, the checkpoint last). The contract suite covers
 * its outcome against a real server.
 */
import type { MongoClient } from 'mongodb';
import { MongoDocumentStore, RESET_CHUNK } from '../../src/shared/documents/mongo';

function fakeMongo(sizes: Record<string, number>) {
  const calls: string[] = [];
  const docs = new Map(Object.entries(sizes).map(([name, n]) => [name, Array.from({ length: n }, (_, i) => `d${String(i).padStart(6, '0')}`)]));
  const collection = (name: string) => ({
    find: (_filter: unknown, options: { limit: number }) => ({
      toArray: async () => (docs.get(name) ?? []).slice(0, options.limit).map((_id) => ({ _id })),
    }),
    deleteMany: async (filter: { _id: { $in: string[] } }, options?: { session?: unknown }) => {
      calls.push(`delete ${name} ${filter._id.$in.length}${options?.session ? ' in a transaction' : ''}`);
      docs.set(name, (docs.get(name) ?? []).filter((id) => !filter._id.$in.includes(id)));
    },
    // The checkpoint's position is cleared but its lease fence kept, so a fenced-out runner stays out after a rebuild.
    updateOne: async (filter: { _id: string }, update: { $set: { position: null } }) => calls.push(`clear ${name} ${filter._id} position ${update.$set.position}`),
  });
  const client = {
    db: () => ({ collection }),
    withSession: () => {
      throw new Error('reset must not open a transaction');
    },
  } as unknown as MongoClient;
  return { client, calls, docs };
}

describe('MongoDB document store reset', () => {
  it('deletes in chunks outside any transaction and clears the checkpoint last', async () => {
    const { client, calls, docs } = fakeMongo({ orders: RESET_CHUNK * 2 + 5, lines: 3 });
    await MongoDocumentStore.over(client).reset('orders', ['orders', 'lines']);
    expect(calls).toEqual([
      `delete orders ${RESET_CHUNK}`,
      `delete orders ${RESET_CHUNK}`,
      'delete orders 5',
      'delete lines 3',
      'clear checkpoints orders position null',
    ]);
    expect(docs.get('orders')).toEqual([]);
  });

  it('leaves a shared client open when the store closes', async () => {
    const { client } = fakeMongo({});
    const close = jest.fn();
    await MongoDocumentStore.over(Object.assign(client, { close })).close();
    expect(close).not.toHaveBeenCalled();
  });
});
