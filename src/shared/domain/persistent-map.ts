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

export class PersistentMap<V> {
  private constructor(
    private readonly root: Branch<V>,
    readonly size: number,
    private readonly hash: (key: string) => number,
  ) {}

  /** `hash` must give a 32-bit unsigned integer; tests pass poor ones to force collisions. */
  static empty<V>(hash: (key: string) => number = hashOf): PersistentMap<V> {
    return new PersistentMap(emptyBranch as Branch<V>, 0, hash);
  }

  get(key: string): V | undefined {
    return this.find(key)?.[1];
  }

  has(key: string): boolean {
    return this.find(key) !== undefined;
  }

  set(key: string, value: V): PersistentMap<V> {
    const [root, added] = insert(this.root, 0, this.hash(key), key, value);
    return new PersistentMap(root, added ? this.size + 1 : this.size, this.hash);
  }

  private find(key: string): readonly [string, V] | undefined {
    const hash = this.hash(key);
    let slot: Slot<V> = this.root;
    for (let shift = 0; slot instanceof Branch; shift += BITS) slot = slot.slots[slotIndex(hash, shift)];
    if (slot === undefined || slot.hash !== hash) return undefined;
    return slot.entries.find(([k]) => k === key);
  }

  /** In no particular order. */
  entries(): IterableIterator<readonly [string, V]> {
    return entriesOf(this.root);
  }
}
