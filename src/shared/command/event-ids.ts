import { createHash, randomUUID } from 'node:crypto';

/**
 * Event ids for one command. With a seed (derived from the user and the Idempotency-Key) the
 * ids are the same on every retry of the request, so a store that sees them again writes
 * nothing. A retry that decides again against newer state is stopped by the request's guard
 * stream (see requestGuard in handler.ts), on every adapter.
 */
export function eventIds(seed: string | undefined): (stream: string, index: number) => string {
  if (seed === undefined) return () => randomUUID();
  return (stream, index) => uuidFromHash(`${seed}\u0000${stream}\u0000${index}`);
}

export function uuidFromHash(input: string): string {
  const hex = createHash('sha256').update(input).digest('hex');
  // Shaped as a version-5-style UUID (variant bits set) so KurrentDB accepts it as an event id.
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
