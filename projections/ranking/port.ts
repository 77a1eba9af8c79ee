/**
 * Quantity sold per product per local day, ranked over a window of days.
 *
 * The counts themselves are a read model (documents written with the projection checkpoint).
 * A ranking adapter is an index over them for fast top-N queries: it is given absolute counts,
 * never increments, so writing the same count twice (a retried batch, a rebuild) is harmless,
 * and it can be thrown away and refilled from the documents at any time.
 */
export type DailySales = {
  readonly day: string;
  readonly productId: string;
  readonly quantity: number;
};

export interface RankedProduct {
  readonly productId: string;
  readonly quantity: number;
}

export interface SalesRanking {
  readonly adapterName: string;
  /** Sets the counts of these (day, product) pairs. */
  record(entries: readonly DailySales[]): Promise<void>;
  /** The products with the most sold over `days`, most first, ties by product id; zero counts left out. */
  top(days: readonly string[], limit: number): Promise<RankedProduct[]>;
  /** Forgets everything (before a rebuild refills it); an empty index is then complete. */
  clear(): Promise<void>;
  /** False when the index lost its data (Redis restarted or was flushed) since it was last cleared or refilled. */
  intact(): Promise<boolean>;
  /**
   * Sets every count of the read model and marks the index intact. Without clearing first, so
   * readers never see it empty; counts are absolute, so one recorded meanwhile is not undone.
   */
  refill(entries: AsyncIterable<DailySales>): Promise<void>;
}

/** Most sold first, then product id ascending, so equal counts always come in the same order. */
export const byQuantityThenId = (a: RankedProduct, b: RankedProduct) =>
  b.quantity - a.quantity || (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0);
