import { WrappedDataKey } from './port';

/** A data key as both SQL adapters store it: one row per user. */
export interface KeyRow {
  user_id: string;
  key_id: string;
  master_key_id: string;
  wrapped: string;
}

export const toKey = (row: KeyRow): WrappedDataKey => ({ userId: row.user_id, keyId: row.key_id, masterKeyId: row.master_key_id, wrapped: row.wrapped });
