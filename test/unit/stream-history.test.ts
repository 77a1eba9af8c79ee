import { randomUUID } from 'node:crypto';
import { InvalidCursor } from '../../src/shared/documents/port';
import { SqliteEventStore } from '../../src/shared/eventstore/sqlite';
import { streamHistory } from '../../src/shared/eventstore/history';
import { StoredEvent } from '../../src/shared/eventstore/port';

describe('a page of a stream history', () => {
  let store: SqliteEventStore;
  beforeEach(() => {
    store = new SqliteEventStore(':memory:');
  });
  afterEach(() => store.close());

  /** Appends `types` in order; an entry is kept per 'Kept' event, carrying its number. */
  async function given(types: readonly string[]) {
    await store.append([{ stream: 's', expectedRevision: 'no_stream', events: types.map((type, n) => ({ id: randomUUID(), type, data: { n } })) }]);
  }
  const kept = (event: StoredEvent) => (event.type === 'Kept' ? (event.data.n as number) : null);

  async function allPages(limit: number) {
    const pages: number[][] = [];
    let cursor: string | undefined;
    do {
      const page = await streamHistory(store, 's', { limit, cursor }, kept);
      pages.push(page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return pages;
  }

  it('pages newest first and skips what the mapping leaves out, also across many skipped events', async () => {
    // 120 skipped events between the oldest entries: more than one read of the stream.
    await given(['Kept', ...Array<string>(120).fill('Skipped'), 'Kept', 'Skipped', 'Kept', 'Kept']);
    expect(await allPages(2)).toEqual([
      [124, 123],
      [121, 0],
    ]);
    expect(await allPages(3)).toEqual([[124, 123, 121], [0]]);
    expect(await allPages(4)).toEqual([[124, 123, 121, 0]]);
  });

  it('answers an empty page with no cursor for a stream that does not exist', async () => {
    expect(await streamHistory(store, 'nothing', { limit: 20 }, kept)).toEqual({ items: [], nextCursor: null });
  });

  it('refuses a cursor it did not issue', async () => {
    await given(['Kept']);
    for (const cursor of ['not base64 json', Buffer.from('{"before":"-1"}').toString('base64url'), Buffer.from('{"f":"position"}').toString('base64url')]) {
      await expect(streamHistory(store, 's', { limit: 20, cursor }, kept)).rejects.toBeInstanceOf(InvalidCursor);
    }
  });
});
