import fc from 'fast-check';
import { PersistentMap } from '../../../src/shared/domain/persistent-map';

const hashes: Array<[string, ((key: string) => number) | undefined]> = [
  ['its own hash', undefined],
  // Few distinct hashes, differing only in high bits: keys share slots down to the deepest level, then whole hashes collide.
  ['a hash colliding on every bit', (key) => ((key.length % 3) << 30) >>> 0],
];

describe.each(hashes)('PersistentMap (coupon holders) with %s', (_label, hash) => {
  const operations = fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 300 });

  it('answers like a Map after any sequence of sets', () =>
    fc.assert(
      fc.property(operations, fc.array(fc.string({ maxLength: 6 }), { maxLength: 50 }), (sets, probes) => {
        const model = new Map<string, number>();
        let map = PersistentMap.empty<number>(hash);
        for (const [key, value] of sets) {
          model.set(key, value);
          map = map.set(key, value);
        }
        expect(map.size).toBe(model.size);
        for (const key of [...model.keys(), ...probes]) {
          expect(map.get(key)).toBe(model.get(key));
          expect(map.has(key)).toBe(model.has(key));
        }
        expect(new Map(map.entries())).toEqual(model);
      }),
    ));

  it('leaves every earlier version as it was', () =>
    fc.assert(
      fc.property(operations, (sets) => {
        const versions = [PersistentMap.empty<number>(hash)];
        const models = [new Map<string, number>()];
        for (const [key, value] of sets) {
          versions.push(versions[versions.length - 1].set(key, value));
          models.push(new Map(models[models.length - 1]).set(key, value));
        }
        versions.forEach((version, i) => expect(new Map(version.entries())).toEqual(models[i]));
      }),
    ));
});

describe('PersistentMap loaded in bulk (a snapshot)', () => {
  const entries = fc.uniqueArray(fc.tuple(fc.string({ maxLength: 6 }), fc.integer()), { selector: ([key]) => key, maxLength: 200 });
  const sets = fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.integer()), { maxLength: 100 });

  it('answers like a Map after any sets on top of it, and gives its entries back sorted', () =>
    fc.assert(
      fc.property(entries, sets, fc.boolean(), (loaded, later, presorted) => {
        const ordered = presorted ? [...loaded].sort(([a], [b]) => (a < b ? -1 : 1)) : loaded;
        const model = new Map(ordered);
        let map = PersistentMap.fromEntries(ordered.map(([key]) => key), ordered.map(([, value]) => value));
        for (const [key, value] of later) {
          model.set(key, value);
          map = map.set(key, value);
        }
        expect(map.size).toBe(model.size);
        for (const key of [...model.keys(), ...later.map(([key]) => `${key}?`)]) {
          expect(map.get(key)).toBe(model.get(key));
          expect(map.has(key)).toBe(model.has(key));
        }
        expect(new Map(map.entries())).toEqual(model);
        expect([...map.entries()]).toHaveLength(model.size);
        const { keys, values } = map.sortedEntries();
        expect(keys).toEqual([...model.keys()].sort((a, b) => (a < b ? -1 : 1)));
        expect(values).toEqual(keys.map((key) => model.get(key)));
      }),
    ));

  it('refuses a key given twice', () => {
    expect(() => PersistentMap.fromEntries(['b', 'a', 'b'], [1, 2, 3])).toThrow('twice');
  });
});

describe('PersistentMap at scale', () => {
  it('folds 200,000 holders in about a second, where copying a Map per set would take many minutes', () => {
    const started = Date.now();
    let map = PersistentMap.empty<number>();
    for (let i = 0; i < 200_000; i += 1) map = map.set(`user-${i}`, i);
    expect(map.size).toBe(200_000);
    expect(map.get('user-165432')).toBe(165_432);
    expect(map.has('user-200000')).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
