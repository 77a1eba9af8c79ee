/** How the SQL adapters keep one idempotency record, and how they sweep the expired ones. */
export interface RecordRow {
  fingerprint: string;
  state: 'in_flight' | 'done';
  /** The first answer as text: a replay sends back exactly its bytes. */
  response: string | null;
}

/** Every this many claims an adapter deletes up to PURGE_BATCH expired rows: a table that only grows by its traffic. */
export const PURGE_EVERY_CLAIMS = 100;
export const PURGE_BATCH = 1_000;
