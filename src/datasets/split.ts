// Deterministic dataset helpers: a seeded PRNG and shuffle, a per-class train/test split (the same seed always gives
// the same split), and packing of rows into one flat array for a single upload. Plain TypeScript, no Node APIs.

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mix two integers into one seed, so that (seed, stream) pairs give unrelated sequences. */
export function mixSeed(seed: number, stream: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((stream >>> 0) + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** A seeded Fisher-Yates permutation of 0..n-1. */
export function permutation(n: number, rand: () => number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

export interface LabeledSet<T> {
  items: T[];
  /** Class index of each item (the class's position in the input). */
  labels: number[];
}

export interface SplitOptions {
  /** Items per class for training. */
  train: number;
  /** Items per class held out. */
  test: number;
  seed: number;
}

/**
 * Shuffle each class with its own seeded stream and take `train` items for training and the next `test` for the
 * held-out set. Items stay grouped by class (shuffle the training set per epoch when batching).
 */
export function splitPerClass<T>(perClass: readonly (readonly T[])[], opts: SplitOptions): { train: LabeledSet<T>; test: LabeledSet<T> } {
  const { train, test, seed } = opts;
  if (!Number.isInteger(train) || !Number.isInteger(test) || train < 0 || test < 0) {
    throw new Error(`splitPerClass: train and test must be integers >= 0, got ${train} and ${test}`);
  }
  const out = { train: { items: [] as T[], labels: [] as number[] }, test: { items: [] as T[], labels: [] as number[] } };
  perClass.forEach((items, c) => {
    if (items.length < train + test) {
      throw new Error(`splitPerClass: class ${c} has ${items.length} items, fewer than ${train} train + ${test} test`);
    }
    const order = permutation(items.length, seededRandom(mixSeed(seed, c)));
    for (let k = 0; k < train + test; k++) {
      const set = k < train ? out.train : out.test;
      set.items.push(items[order[k]]);
      set.labels.push(c);
    }
  });
  return out;
}

/** Rows of equal width packed into one row-major array [rows.length, width]. */
export function packRows(rows: readonly Float32Array[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => {
    if (r.length !== width) throw new Error(`packRows: row ${i} has ${r.length} values, expected ${width}`);
    out.set(r, i * width);
  });
  return out;
}
