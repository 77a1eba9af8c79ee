import { InvalidCursor } from '../documents/port';
import { EventStore, StoredEvent } from './port';

/** Events read per trip while a page fills: a page rarely skips many (a rename between stock changes). */
const CHUNK = 50;

export interface HistoryPage<T> {
  readonly items: T[];
  /** Send back as `cursor` for the next, older page; null on the last one. */
  readonly nextCursor: string | null;
}

const encode = (revision: bigint) => Buffer.from(JSON.stringify({ before: revision.toString() })).toString('base64url');

function decode(cursor: string): bigint {
  try {
    const { before } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { before?: unknown };
    if (typeof before === 'string' && /^\d{1,19}$/.test(before)) return BigInt(before);
  } catch {
    // Falls through to the refusal below.
  }
  throw new InvalidCursor();
}

/**
 * One page of a stream's own history, newest first: an aggregate's stream already holds every
 * change to it in order and indexed, so a history of one aggregate reads it a page at a time
 * instead of copying it into a read model. `entry` maps an event to an item, or to null for an
 * event the history leaves out. Always as fresh as the log: nothing to wait for.
 */
export async function streamHistory<T>(
  events: EventStore,
  stream: string,
  page: { readonly limit: number; readonly cursor?: string },
  entry: (event: StoredEvent) => T | null,
): Promise<HistoryPage<T>> {
  const kept: Array<{ item: T; revision: bigint }> = [];
  let before: bigint | null = page.cursor === undefined ? null : decode(page.cursor);
  // One more than the page tells whether an older page exists.
  while (kept.length <= page.limit) {
    const chunk = await events.readStreamBackward(stream, before, Math.max(CHUNK, page.limit + 1 - kept.length));
    for (const event of chunk) {
      const item = entry(event);
      if (item !== null) kept.push({ item, revision: event.revision });
    }
    if (chunk.length === 0 || chunk[chunk.length - 1].revision === 0n) break;
    before = chunk[chunk.length - 1].revision;
  }
  const items = kept.slice(0, page.limit);
  const more = kept.length > page.limit;
  return { items: items.map(({ item }) => item), nextCursor: more ? encode(items[items.length - 1].revision) : null };
}
