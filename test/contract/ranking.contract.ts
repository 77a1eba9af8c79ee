import { DailySales, SalesRanking } from '../../projections/ranking/port';

/**
 * The ranking port's contract. `make` gets the entries to start from, because the embedded
 * adapter reads committed daily counts instead of keeping its own.
 */
export function rankingContract(make: (entries: readonly DailySales[]) => Promise<SalesRanking>): void {
  const sales = (day: string, productId: string, quantity: number): DailySales => ({ day, productId, quantity });

  it('sums each product over the days of the window only', async () => {
    const ranking = await make([sales('2026-11-01', 'p1', 3), sales('2026-11-02', 'p1', 4), sales('2026-11-02', 'p2', 5), sales('2026-11-03', 'p2', 9)]);
    expect(await ranking.top(['2026-11-01', '2026-11-02'], 10)).toEqual([
      { productId: 'p1', quantity: 7 },
      { productId: 'p2', quantity: 5 },
    ]);
    expect(await ranking.top(['2026-11-03'], 10)).toEqual([{ productId: 'p2', quantity: 9 }]);
    expect(await ranking.top(['2026-10-01'], 10)).toEqual([]);
  });

  it('breaks ties by product id, also for the products tied at the cut', async () => {
    const entries = ['p5', 'p3', 'p9', 'p1', 'p7'].map((id) => sales('2026-11-01', id, 2));
    const ranking = await make([...entries, sales('2026-11-01', 'p8', 6)]);
    expect(await ranking.top(['2026-11-01'], 3)).toEqual([
      { productId: 'p8', quantity: 6 },
      { productId: 'p1', quantity: 2 },
      { productId: 'p3', quantity: 2 },
    ]);
    expect((await ranking.top(['2026-11-01'], 100)).map((e) => e.productId)).toEqual(['p8', 'p1', 'p3', 'p5', 'p7', 'p9']);
  });

  it('leaves out products whose count came back to zero', async () => {
    const ranking = await make([sales('2026-11-01', 'p1', 0), sales('2026-11-01', 'p2', 1)]);
    expect(await ranking.top(['2026-11-01'], 10)).toEqual([{ productId: 'p2', quantity: 1 }]);
  });
}
