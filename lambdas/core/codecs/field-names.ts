/**
 * A bounded memo of dotted field names (`battery.modules.module_001.voltage`), shaped as a trie of JSON
 * keys.
 *
 * Why: flattening a JSON message creates one new name string per field, and storing a new string as a
 * key of the point's record costs a string-table insertion on top of the dictionary insertion; together
 * they cost more than JSON.parse of the whole message. Devices send the same shape every time, so the
 * names of one message are the names of the next: reusing the same (already internalized) strings
 * makes each insertion a plain dictionary store. The memo is keyed by the JSON keys themselves, which
 * JSON.parse hands out already internalized, so a lookup is a hash-cached Map probe.
 *
 * The memo is bounded (`MAX_CACHED_NAMES` entries; when full it starts over) so hostile payloads with
 * ever-new keys cost memory only up to the bound. It never changes results: a name is always
 * `prefix + key`, memoized or not.
 *
 * Only plain keys are memoized: non-empty, without a dot, and not a forbidden key (`__proto__`,
 * `constructor`, `prototype`). So a key found by {@link NameNode.knownName} or
 * {@link NameNode.knownChild} is known to pass those checks, and the flattening walk skips them.
 */

/** Most names and prefixes kept before the memo starts over. */
export const MAX_CACHED_NAMES = 20_000;

let budget = MAX_CACHED_NAMES;

/** Largest integer key memoized by position ({@link NameNode.indexName}) rather than only by text. */
export const MAX_INDEX_KEY = 4096;

/** One object level: the dotted prefix of its members (`''` at the root, else ending with a dot). */
export class NameNode {
  private names: Map<string, string> | undefined;
  private kids: Map<string, NameNode> | undefined;
  /** Memoized names and levels of integer keys (DialTone `data_idx`), by the integer itself. */
  private indexNames: (string | undefined)[] | undefined;
  private indexKids: (NameNode | undefined)[] | undefined;
  /** Keys and names of the scalar members in the order the last walks met them (see knownNameInOrder). */
  private orderKeys: string[] | undefined;
  private orderNames: string[] | undefined;
  private cursor = 0;

  /**
   * @param prefix the dotted prefix of this level's members
   * @param cached whether this node belongs to the memo (uncached nodes just concatenate)
   */
  constructor(
    readonly prefix: string,
    private readonly cached: boolean,
  ) {}

  /** The memoized full name of member `key`, or undefined (the key then still needs its checks). */
  knownName(key: string): string | undefined {
    return this.names?.get(key);
  }

  /** Start a walk over this level's members: the next {@link knownNameInOrder} is the first member. */
  rewind(): void {
    this.cursor = 0;
  }

  /**
   * {@link knownName} for the next scalar member of a walk. Devices send members in the same order every
   * time, so the key is first compared with the one met at the same position before (JSON.parse hands
   * out internalized keys, so that is a pointer comparison), and only then looked up in the memo. At
   * most as many positions are kept as the level has memoized names, so the memo's bound holds.
   */
  knownNameInOrder(key: string): string | undefined {
    const i = this.cursor++;
    const keys = this.orderKeys;
    if (keys !== undefined && keys[i] === key) return (this.orderNames as string[])[i];
    const names = this.names;
    const name = names?.get(key);
    if (name !== undefined && i < (names as Map<string, string>).size) {
      if (keys === undefined) {
        this.orderKeys = [key];
        this.orderNames = [name];
      } else if (i <= keys.length) {
        keys[i] = key;
        (this.orderNames as string[])[i] = name;
      }
    }
    return name;
  }

  /** The memoized level of object member `key`, or undefined (the key then still needs its checks). */
  knownChild(key: string): NameNode | undefined {
    return this.kids?.get(key);
  }

  /** The full name of member `key` of this level. */
  name(key: string): string {
    if (!this.cached) return this.prefix + key;
    let names = this.names;
    if (names === undefined) {
      names = new Map();
      this.names = names;
    }
    let n = names.get(key);
    if (n === undefined) {
      // At the root the name is the key itself: JSON.parse already internalized it.
      n = this.prefix === '' ? key : this.prefix + key;
      if (budget > 0 && plainKey(key)) {
        budget--;
        names.set(key, n);
      }
    }
    return n;
  }

  /**
   * `name(String(i))` for an integer key 0 ≤ i (DialTone's `data_idx`), without building the key text
   * when it is memoized. Only names the memo kept are remembered by position, so the bound holds.
   */
  indexName(i: number): string {
    if (i > MAX_INDEX_KEY) return this.name(String(i));
    let byIndex = this.indexNames;
    if (byIndex === undefined) {
      byIndex = [];
      this.indexNames = byIndex;
    }
    let n = byIndex[i];
    if (n === undefined) {
      const key = String(i);
      n = this.name(key);
      if (this.names?.get(key) === n) byIndex[i] = n;
    }
    return n;
  }

  /** `child(String(i))` for an integer key 0 ≤ i, memoized by position like {@link indexName}. */
  indexChild(i: number): NameNode {
    if (i > MAX_INDEX_KEY) return this.child(String(i));
    let byIndex = this.indexKids;
    if (byIndex === undefined) {
      byIndex = [];
      this.indexKids = byIndex;
    }
    let k = byIndex[i];
    if (k === undefined) {
      const key = String(i);
      k = this.child(key);
      if (this.kids?.get(key) === k) byIndex[i] = k;
    }
    return k;
  }

  /** The level of member `key` when that member is an object. */
  child(key: string): NameNode {
    if (!this.cached) return new NameNode(`${this.prefix + key}.`, false);
    let kids = this.kids;
    if (kids === undefined) {
      kids = new Map();
      this.kids = kids;
    }
    let k = kids.get(key);
    if (k === undefined) {
      const keep = budget > 0 && plainKey(key);
      k = new NameNode(`${this.prefix + key}.`, keep);
      if (keep) {
        budget--;
        kids.set(key, k);
      }
    }
    return k;
  }
}

/** Whether `key` may be memoized: see the module comment. */
function plainKey(key: string): boolean {
  return (
    key !== '' && !key.includes('.') && key !== '__proto__' && key !== 'constructor' && key !== 'prototype'
  );
}

let root = new NameNode('', true);

/** The memo's root level, started over first when the memo is full. Call once per decoded message. */
export function rootNames(): NameNode {
  if (budget <= 0) {
    root = new NameNode('', true);
    budget = MAX_CACHED_NAMES;
  }
  return root;
}

/** A level outside the memo, for prefixes built from values (e.g. DialTone `ch<i>.<j>.`). */
export function uncachedNames(prefix: string): NameNode {
  return new NameNode(prefix, false);
}
