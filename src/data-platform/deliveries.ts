import { DATA_PLATFORM_DELIVERIES, DELIVERY_STATUSES, DeliveryDoc, DeliveryStatus } from '../../projections/data-platform-outbox';
import { Clock } from '../shared/container/tokens';
import { DocumentStore, DocWrite, Page } from '../shared/documents/port';
import { DomainError } from '../shared/domain/errors';

/**
 * The delivery state after the outbox projection created it. Every change reads the document
 * and writes it whole, and each is safe to repeat: DELIVERED is final (a late failure report
 * from a worker whose claim was taken over cannot undo it), failures only count against a
 * PENDING delivery, and only a DEAD one can be retried.
 */
export class Deliveries {
  constructor(
    private readonly documents: DocumentStore,
    private readonly clock: Clock,
    private readonly maxAttempts: number,
  ) {}

  get(id: string): Promise<DeliveryDoc | null> {
    return this.documents.get<DeliveryDoc>(DATA_PLATFORM_DELIVERIES, id);
  }

  /** Those of `ids` that exist, in no particular order. */
  getMany(ids: readonly string[]): Promise<DeliveryDoc[]> {
    return this.documents.getMany<DeliveryDoc>(DATA_PLATFORM_DELIVERIES, ids);
  }

  /** Newest first, optionally only those in one status. */
  list(status: DeliveryStatus | undefined, limit: number, cursor?: string | null): Promise<Page<DeliveryDoc>> {
    return this.documents.find<DeliveryDoc>(DATA_PLATFORM_DELIVERIES, {
      where: status ? { status } : undefined,
      sort: { field: 'position', direction: 'desc' },
      limit,
      cursor,
    });
  }

  /** How many deliveries stand in each status, counted in the (status, position) index. */
  async counts(): Promise<Record<DeliveryStatus, number>> {
    const [PENDING, DELIVERED, DEAD] = await Promise.all(DELIVERY_STATUSES.map((status) => this.documents.count(DATA_PLATFORM_DELIVERIES, { status })));
    return { PENDING, DELIVERED, DEAD };
  }

  /** Every PENDING delivery, oldest first, a page at a time. */
  async *pending(pageSize = 100): AsyncGenerator<DeliveryDoc> {
    let cursor: string | null = null;
    do {
      const page: Page<DeliveryDoc> = await this.documents.find<DeliveryDoc>(DATA_PLATFORM_DELIVERIES, {
        where: { status: 'PENDING' },
        sort: { field: 'position', direction: 'asc' },
        limit: pageSize,
        cursor,
      });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor);
  }

  /** Every one of `ids` that the platform took, in one write. */
  async markDelivered(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const now = this.clock.now().toISOString();
    const writes = (await this.getMany(ids))
      .filter((doc) => doc.status !== 'DELIVERED')
      .map((doc): DocWrite => ({
        kind: 'upsert',
        collection: DATA_PLATFORM_DELIVERIES,
        doc: { ...doc, status: 'DELIVERED', attempts: doc.attempts + 1, deliveredAt: now, updatedAt: now },
      }));
    if (writes.length > 0) await this.documents.write(writes);
  }

  /** Counts a failed attempt against a PENDING delivery; it goes DEAD on the last one allowed. */
  recordFailure(id: string, error: string): Promise<DeliveryDoc | null> {
    return this.update(id, (doc, now) => {
      if (doc.status !== 'PENDING') return doc;
      const attempts = doc.attempts + 1;
      return { ...doc, status: attempts >= this.maxAttempts ? 'DEAD' : 'PENDING', attempts, lastError: error, updatedAt: now };
    });
  }

  /** Makes a DEAD delivery PENDING again with a fresh allowance of attempts; the caller queues it. */
  async revive(id: string): Promise<DeliveryDoc> {
    const revived = await this.update(id, (doc, now) => {
      if (doc.status !== 'DEAD') {
        throw new DomainError('DELIVERY_NOT_DEAD', 'conflict', `delivery ${id} is ${doc.status}; only a DEAD one can be retried`, {
          deliveryStatus: doc.status,
        });
      }
      return { ...doc, status: 'PENDING', attempts: 0, updatedAt: now };
    });
    if (!revived) throw new DomainError('DELIVERY_NOT_FOUND', 'not_found', `no delivery ${id}`);
    return revived;
  }

  private async update(id: string, change: (doc: DeliveryDoc, now: string) => DeliveryDoc): Promise<DeliveryDoc | null> {
    const doc = await this.get(id);
    if (!doc) return null;
    const next = change(doc, this.clock.now().toISOString());
    if (next !== doc) await this.documents.write([{ kind: 'upsert', collection: DATA_PLATFORM_DELIVERIES, doc: next }]);
    return next;
  }
}
