import { pointHistoryProjection } from '../../projections/point-history';
import { Projection, ProjectionView } from '../../projections/projection';
import { stockHistoryProjection } from '../../projections/stock-history';
import { Doc } from '../../src/shared/documents/port';
import { formatPosition, StoredEvent } from '../../src/shared/eventstore/port';

/** The ids a projection gives the documents of these events, in the order it wrote them. */
async function idsWritten(projection: Projection, events: readonly StoredEvent[]): Promise<string[]> {
  const ids: string[] = [];
  const view: ProjectionView = { get: async () => null, upsert: (_collection, doc: Doc) => void ids.push(doc.id), delete: () => undefined };
  for (const event of events) await projection.apply(event, view);
  return ids;
}

const at = '2026-12-04T10:00:00.000Z';
// Event ids are random UUIDs; these sort against the log order on purpose.
const stored = (n: number, stream: string, type: string, data: object): StoredEvent => ({
  id: `${String(9 - n)}0000000-0000-4000-8000-000000000000`,
  stream,
  revision: BigInt(n),
  position: formatPosition(1_000 + n),
  type,
  data: data as StoredEvent['data'],
  metadata: {},
});

describe.each([
  ['point history', pointHistoryProjection, (n: number) => stored(n, 'wallet-u', 'PointsCharged', { userId: 'u', amount: 1, balanceAfter: n, occurredAt: at })],
  ['stock history', stockHistoryProjection, (n: number) => stored(n, 'product-p', 'StockAdded', { productId: 'p', quantity: 1, stockAfter: n, occurredAt: at })],
])('%s', (_name, projection, event) => {
  it('keys entries in log order, so new ones are appended to the key order rather than inserted at random', async () => {
    const ids = await idsWritten(projection, [1, 2, 3, 4].map(event));
    expect(ids).toHaveLength(4);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(4);
  });

  it('gives a redelivered event the same key', async () => {
    expect(await idsWritten(projection, [event(5), event(5)])).toEqual([formatPosition(1_005), formatPosition(1_005)]);
  });
});
