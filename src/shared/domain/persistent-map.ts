/**
 * An immutable string-keyed map whose `set` shares all but one path with the map it came from
 * (a hash trie, 32 ways per level). A coupon's state holds one entry per holder, up to a
 * million: copying a Map on every CouponIssued would make folding the stream quadratic, while
 * mutating one in place would corrupt the states the command cache and a group-commit retry
 * still hold. Here a set costs a handful of 32-slot copies and every older state stays intact.
 */
type Slot<V> = Leaf<V> | Branch<V> | undefined;

class Leaf<V> {
  /** More than one entry only when whole 32-bit hashes collide. */
  constructor(
    readonly hash: number,
    readonly entries: ReadonlyArray<readonly [string, V]>,
  ) {}
}

class Branch<V> {
  constructor(readonly slots: ReadonlyArray<Slot<V>>) {}
}

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;
const emptyBranch = new Branch<never>(new Array(WIDTH).fill(undefined));

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so that similar keys spread. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const slotIndex = (hash: number, shift: number) => (hash >>> shift) & MASK;

function withSlot<V>(branch: Branch<V>, index: number, slot: Slot<V>): Branch<V> {
  const slots = branch.slots.slice();
  slots[index] = slot;
  return new Branch(slots);
}

/** Returns the new branch and whether the key is new. Two distinct 32-bit hashes part at some shift <= 30. */
function insert<V>(branch: Branch<V>, shift: number, hash: number, key: string, value: V): [Branch<V>, boolean] {
  const index = slotIndex(hash, shift);
  const slot = branch.slots[index];
  if (slot === undefined) return [withSlot(branch, index, new Leaf(hash, [[key, value]])), true];
  if (slot instanceof Branch) {
    const [child, added] = insert(slot, shift + BITS, hash, key, value);
    return [withSlot(branch, index, child), added];
  }
  if (slot.hash === hash) {
    const at = slot.entries.findIndex(([k]) => k === key);
    const entries = slot.entries.slice();
    if (at >= 0) entries[at] = [key, value];
    else entries.push([key, value]);
    return [withSlot(branch, index, new Leaf(hash, entries)), at < 0];
  }
  const pushedDown = withSlot(emptyBranch as Branch<V>, slotIndex(slot.hash, shift + BITS), slot);
  const [child, added] = insert(pushedDown, shift + BITS, hash, key, value);
  return [withSlot(branch, index, child), added];
}

function* entriesOf<V>(slot: Slot<V>): Generator<readonly [string, V]> {
  if (slot === undefined) return;
  if (slot instanceof Leaf) {
    yield* slot.entries;
    return;
  }
  for (const child of slot.slots) yield* entriesOf(child);
}

/**
 * Entries in two arrays sorted by key, searched by halving: what a map loaded in bulk (a
 * snapshot) starts from. Building it costs no hashing and no node per entry, which for a long
 * stream would be most of a cold load (docs/BENCHMARKS.md, snapshots); every later `set` lands
 * in the trie in front of it.
 */
class Sorted<V> {
  constructor(
    readonly keys: readonly string[],
    readonly values: readonly V[],
  ) {}

  indexOf(key: string): number {
    let low = 0;
    let high = this.keys.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = this.keys[middle];
      if (found === key) return middle;
      if (found < key) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}

const noEntries = new Sorted<never>([], []);

export class PersistentMap<V> {
  private constructor(
    private readonly root: Branch<V>,
    readonly size: number,
    private readonly hash: (key: string) => number,
    /** Entries the trie may override (a key in both has the trie's value). */
    private readonly base: Sorted<V>,
  ) {}

  /** `hash` must give a 32-bit unsigned integer; tests pass poor ones to force collisions. */
  static empty<V>(hash: (key: string) => number = hashOf): PersistentMap<V> {
    return new PersistentMap(emptyBranch as Branch<V>, 0, hash, noEntries);
  }

  /** The map of these entries; `keys` distinct. Linear when they come sorted (as `sortedEntries` gives them). */
  static fromEntries<V>(keys: readonly string[], values: readonly V[], hash: (key: string) => number = hashOf): PersistentMap<V> {
    if (keys.length !== values.length) throw new Error('as many values as keys');
    let sorted = true;
    for (let i = 1; i < keys.length && sorted; i += 1) sorted = keys[i - 1] < keys[i];
    if (sorted) return new PersistentMap(emptyBranch as Branch<V>, keys.length, hash, new Sorted(keys, values));
    const order = keys.map((_, i) => i).sort((a, b) => (keys[a] < keys[b] ? -1 : 1));
    for (let i = 1; i < order.length; i += 1) if (keys[order[i - 1]] === keys[order[i]]) throw new Error(`key ${keys[order[i]]} twice`);
    return new PersistentMap(emptyBranch as Branch<V>, keys.length, hash, new Sorted(order.map((i) => keys[i]), order.map((i) => values[i])));
  }

  get(key: string): V | undefined {
    const found = this.find(key);
    if (found !== undefined) return found[1];
    const at = this.base.indexOf(key);
    return at < 0 ? undefined : this.base.values[at];
  }

  has(key: string): boolean {
    return this.find(key) !== undefined || this.base.indexOf(key) >= 0;
  }

  set(key: string, value: V): PersistentMap<V> {
    const [root, added] = insert(this.root, 0, this.hash(key), key, value);
    const grows = added && this.base.indexOf(key) < 0;
    return new PersistentMap(root, grows ? this.size + 1 : this.size, this.hash, this.base);
  }

  private find(key: string): readonly [string, V] | undefined {
    const hash = this.hash(key);
    let slot: Slot<V> = this.root;
    for (let shift = 0; slot instanceof Branch; shift += BITS) slot = slot.slots[slotIndex(hash, shift)];
    if (slot === undefined || slot.hash !== hash) return undefined;
    return slot.entries.find(([k]) => k === key);
  }

  /** In no particular order. */
  *entries(): IterableIterator<readonly [string, V]> {
    yield* entriesOf(this.root);
    const { keys, values } = this.base;
    for (let i = 0; i < keys.length; i += 1) if (this.find(keys[i]) === undefined) yield [keys[i], values[i]];
  }

  /** Every entry, by key (`<` on strings): what `fromEntries` loads fastest. */
  sortedEntries(): { readonly keys: string[]; readonly values: V[] } {
    const recent = [...entriesOf(this.root)].sort(([a], [b]) => (a < b ? -1 : 1));
    const keys: string[] = [];
    const values: V[] = [];
    const { keys: baseKeys, values: baseValues } = this.base;
    let i = 0;
    let j = 0;
    while (i < recent.length || j < baseKeys.length) {
      if (j >= baseKeys.length || (i < recent.length && recent[i][0] <= baseKeys[j])) {
        if (j < baseKeys.length && recent[i][0] === baseKeys[j]) j += 1;
        keys.push(recent[i][0]);
        values.push(recent[i][1]);
        i += 1;
      } else {
        keys.push(baseKeys[j]);
        values.push(baseValues[j]);
        j += 1;
      }
    }
    return { keys, values };
  }
}
