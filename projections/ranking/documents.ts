import { DocumentStore } from '../../src/shared/documents/port';
import { byQuantityThenId, DailySales, RankedProduct, SalesRanking } from './port';

export const DAILY_SALES = 'daily_sales';

export type DailySalesDoc = DailySales & { readonly id: string };

export const dailySalesId = (day: string, productId: string) => `${day}:${productId}`;

/**
 * The embedded ranking reads the daily counts straight from the read model, so there is
 * nothing to keep in step; the answer is cached above it, so this runs once per refresh period.
 */
export class DocumentSalesRanking implements SalesRanking {
  readonly adapterName = 'documents';

  constructor(private readonly documents: DocumentStore) {}

  async record(): Promise<void> {}

  async clear(): Promise<void> {}

  async intact(): Promise<boolean> {
    return true;
  }

  async refill(): Promise<void> {}

  async top(days: readonly string[], limit: number): Promise<RankedProduct[]> {
    const totals = new Map<string, number>();
    let cursor: string | null = null;
    do {
      const page: { items: DailySalesDoc[]; nextCursor: string | null } = await this.documents.find<DailySalesDoc>(DAILY_SALES, {
        where: { day: { gte: days[0], lte: days[days.length - 1] } },
        sort: { field: 'day', direction: 'asc' },
        limit: 1000,
        cursor,
      });
      for (const doc of page.items) totals.set(doc.productId, (totals.get(doc.productId) ?? 0) + doc.quantity);
      cursor = page.nextCursor;
    } while (cursor);
    return [...totals]
      .map(([productId, quantity]) => ({ productId, quantity }))
      .filter((entry) => entry.quantity > 0)
      .sort(byQuantityThenId)
      .slice(0, limit);
  }
}
