import { createHash } from 'node:crypto';
import type { Decider, DomainEvent } from '../domain/decider';
import { PersistentMap } from '../domain/persistent-map';

/** Bump when the layout below changes: every snapshot written before is then ignored. */
const CODEC_VERSION = 1;
const MAP_TAG = '$persistentMap';
const NUL = 0;

/**
 * An aggregate state as bytes: the state as JSON with each PersistentMap replaced by its values
 * in key order, then a NUL, then every map's keys, NUL-separated, in the order the maps appear
 * in the JSON. Sorted keys load without hashing (PersistentMap.fromEntries).
 * A product's state is one entry per order; with 100,000 orders the keys are 3.6 MB of UUIDs,
 * which JSON.parse would scan for escapes while a NUL split is a memchr, and the values (small
 * numbers) stay a plain JSON array. JSON never holds a raw NUL, so the first one ends it.
 */
export function encodeState(state: unknown): Buffer {
  const keys: string[] = [];
  const json = JSON.stringify(state, (_, value: unknown) => {
    if (!(value instanceof PersistentMap)) return value;
    const sorted = (value as PersistentMap<unknown>).sortedEntries();
    for (const key of sorted.keys) {
      if (key.includes('\u0000')) throw new Error('a map key holds a NUL: this state cannot be snapshotted');
      keys.push(key);
    }
    return { [MAP_TAG]: sorted.values };
  });
  return Buffer.concat([Buffer.from(json, 'utf8'), Buffer.from([NUL]), Buffer.from(keys.join('\u0000'), 'utf8')]);
}

export function decodeState<S>(bytes: Buffer): S {
  const end = bytes.indexOf(NUL);
  if (end < 0) throw new Error('not an encoded state');
  const tail = bytes.toString('utf8', end + 1);
  const keys = tail === '' ? [] : tail.split('\u0000');
  let next = 0;
  // Depth first, as JSON.stringify visited them: a map takes its keys before its values' maps do.
  const revive = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(revive);
    if (value === null || typeof value !== 'object') return value;
    const values = (value as Record<string, unknown>)[MAP_TAG];
    if (Array.isArray(values)) {
      const own = next === 0 && values.length === keys.length ? keys : keys.slice(next, next + values.length);
      next += values.length;
      const plain = values.every((entry) => entry === null || typeof entry !== 'object');
      return PersistentMap.fromEntries(own, plain ? values : values.map(revive));
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
  };
  const state = revive(JSON.parse(bytes.toString('utf8', 0, end))) as S;
  if (next !== keys.length) throw new Error('an encoded state whose keys do not match its maps');
  return state;
}

const fingerprints = new WeakMap<object, string>();

/**
 * What a snapshot must have been written by to be used: this codec, the decider's category, its
 * `stateVersion` and the source of its `evolve`. A release that changes how a state is folded
 * (in evolve itself, or by bumping stateVersion for a helper evolve calls) thus ignores every
 * older snapshot instead of starting from a state the new code would not have built.
 */
export function fingerprintOf(decider: Decider<never, DomainEvent, unknown>): string {
  let found = fingerprints.get(decider);
  if (found === undefined) {
    found = createHash('sha256')
      .update(`${CODEC_VERSION}\n${decider.category}\n${decider.stateVersion ?? 0}\n${decider.evolve.toString()}`)
      .digest('base64url');
    fingerprints.set(decider, found);
  }
  return found;
}
